"""Sample attachments for the speed benchmark, made on the spot (nothing committed).

A photo from scikit-image's bundled samples, a note drawn with Pillow's bundled font and a
spoken question from espeak-ng + sox: the same kinds LCIO-Bench renders, made here without
importing `policies` (backends never import upward).
"""

from __future__ import annotations

from pathlib import Path


def sample_photo(folder: Path) -> Path:
    """scikit-image's bundled cat photo as a JPEG."""
    import skimage.data
    from PIL import Image

    path = folder / "chelsea.jpg"
    Image.fromarray(skimage.data.chelsea()).save(path, quality=90)
    return path


def sample_text_picture(folder: Path) -> Path:
    """A yellow note reading "Budget meeting at noon", in Pillow's bundled font."""
    from PIL import Image, ImageDraw, ImageFont

    path = folder / "note.png"
    image = Image.new("RGB", (420, 80), (255, 245, 160))
    ImageDraw.Draw(image).text((20, 25), "Budget meeting at noon", fill="black",
                               font=ImageFont.load_default(size=28))
    image.save(path)
    return path


def sample_speech(folder: Path, text: str = "What is the capital of France?") -> Path:
    """A spoken question: espeak-ng, then sox to 16 kHz mono 16-bit (no random dither)."""
    import shutil
    import subprocess

    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        raise RuntimeError("The speech sample needs espeak-ng and sox: apt-get install -y espeak-ng sox")
    raw, path = folder / "raw.wav", folder / "speech16k.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text],
                   check=True, capture_output=True)
    subprocess.run(["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path)],
                   check=True, capture_output=True)
    return path
