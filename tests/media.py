"""Make real test media: sample photos, an image with drawn text, synthetic speech, bad files.

Speech uses espeak-ng and sox (apt packages the CI script installs); images come from
scikit-image's bundled samples and Pillow. Nothing is downloaded.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest


def normalise(text: str) -> str:
    """Lower case, punctuation removed, single spaces: for comparing transcripts and OCR."""
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text.lower()).split())


def sample_image(name: str, folder: Path) -> Path:
    """A scikit-image sample (`chelsea`, `coffee`, `page`, …) saved as PNG."""
    from PIL import Image
    from skimage import data

    path = folder / f"{name}.png"
    if not path.exists():
        Image.fromarray(getattr(data, name)()).save(path)
    return path


def text_image(text: str, folder: Path, name: str = "text.png") -> Path:
    """Black words on white, large enough for OCR, drawn with Pillow's bundled font."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=48)
    image = Image.new("RGB", (60 + 30 * len(text), 140), "white")
    ImageDraw.Draw(image).text((30, 40), text, fill="black", font=font)
    path = folder / name
    image.save(path)
    return path


def speech(text: str, folder: Path, name: str = "speech.wav") -> Path:
    """`text` spoken by espeak-ng, resampled by sox to 16 kHz mono 16-bit WAV."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install -y espeak-ng sox)")
    raw = folder / f"raw-{name}"
    path = folder / name
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(
        ["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def corrupt_file(folder: Path, name: str, size: int = 2048) -> Path:
    """A file with a media suffix whose bytes are not media."""
    path = folder / name
    path.write_bytes(b"this is not media " * (size // 18 + 1))
    return path


def truncated_copy(source: Path, folder: Path, name: str) -> Path:
    """The first third of a real media file: a valid header, then nothing."""
    data = source.read_bytes()
    path = folder / name
    path.write_bytes(data[: max(64, len(data) // 3)])
    return path


def pixel_bomb(folder: Path, side: int = 12_000, name: str = "bomb.png") -> Path:
    """A valid, tiny PNG whose header claims `side` x `side` pixels (1-bit, all black): about
    17 KB on disk for 12000 x 12000, yet ~1 GB once decoded to RGB."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\0" * (1 + (side + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    path = folder / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
                     + chunk(b"IEND", b""))
    return path


def tone_wav(folder: Path, seconds: float, name: str = "tone.wav", rate: int = 16_000) -> Path:
    """`seconds` of a quiet 440 Hz tone as 16-bit mono WAV (long audio without a TTS run)."""
    import math
    import wave

    one_second = b"".join(int(3000 * math.sin(2 * math.pi * 440 * i / rate))
                          .to_bytes(2, "little", signed=True) for i in range(rate))
    path = folder / name
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        whole = int(seconds)
        for _ in range(whole):
            writer.writeframes(one_second)
        writer.writeframes(one_second[: int((seconds - whole) * rate) * 2])
    return path


def minimal_pdf(folder: Path, name: str = "paper.pdf") -> Path:
    """A one-page PDF (a file type the app does not take)."""
    path = folder / name
    path.write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                     b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
                     b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
                     b"trailer<</Root 1 0 R>>\n%%EOF\n")
    return path
