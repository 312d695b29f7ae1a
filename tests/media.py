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
