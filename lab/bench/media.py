"""Benchmark media rendered from small, declarative specs, so the same spec gives the same file.

Every attachment in LCIO-Bench is described by a `MediaSpec` (what to draw or say, with the
facts the questions ask about) and rendered here: photos from scikit-image's bundled samples,
bar charts, flow diagrams, shape pictures and pictures containing text drawn with Pillow, and
spoken requests synthesised by espeak-ng and converted to 16 kHz mono WAV by sox.

The files are not committed: `render` regenerates them from the specs (the file name is a
hash of the spec, so a changed spec never reuses a stale file), and the benchmark records
each file's sha256 so a rebuild can check it drew the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image, ImageDraw, ImageFont

MediaKind = Literal["photo", "bar_chart", "diagram", "shapes", "text_picture", "speech"]

# Colour names a person (and a model) would use, with the RGB drawn for them.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (214, 39, 40),
    "blue": (31, 119, 180),
    "green": (44, 160, 44),
    "orange": (255, 127, 14),
    "purple": (148, 103, 189),
    "yellow": (230, 200, 20),
    "black": (20, 20, 20),
    "pink": (240, 120, 180),
}

# scikit-image samples that load without a download, with what they show.
PHOTOS: dict[str, str] = {
    "chelsea": "a cat",
    "coffee": "a cup of coffee",
    "astronaut": "an astronaut",
    "rocket": "a rocket on a launch pad",
    "camera": "a man holding a camera",
    "moon": "the Moon",
    "clock": "a clock",
    "coins": "coins",
    "hubble_deep_field": "galaxies in deep space",
    "horse": "a horse",
}


@dataclass(frozen=True)
class MediaSpec:
    """What to render. `params` holds JSON-able values only (it is hashed into the file name)."""

    kind: MediaKind
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)
    description: str = ""

    @property
    def is_audio(self) -> bool:
        return self.kind == "speech"

    @property
    def digest(self) -> str:
        blob = json.dumps({"kind": self.kind, "params": self.params}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def filename(self) -> str:
        suffix = ".wav" if self.is_audio else (".jpg" if self.kind == "photo" else ".png")
        return f"{self.kind}-{self.digest}{suffix}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "params": self.params, "description": self.description}


def _font(size: int) -> ImageFont.FreeTypeFont:
    # Pillow's bundled font: the same glyphs on every machine, no system fonts needed.
    return ImageFont.load_default(size=size)


def _photo(params: dict[str, Any]) -> Image.Image:
    import numpy as np
    import skimage.data

    array = getattr(skimage.data, params["name"])()
    if array.dtype == bool:
        array = np.where(array, 0, 255).astype("uint8")  # silhouettes: dark shape on white
    image = Image.fromarray(array)
    image = image.convert("RGB")
    image.thumbnail((640, 640), Image.Resampling.LANCZOS)
    return image


def _bar_chart(params: dict[str, Any]) -> Image.Image:
    labels: list[str] = params["labels"]
    values: list[int] = params["values"]
    colours: list[str] = params["colours"]
    width, height, left, bottom, top = 640, 420, 70, 60, 60
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((width // 2, 25), params["title"], fill="black", font=_font(22), anchor="mm")
    vmax = max(100, max(values))
    plot_h = height - bottom - top
    draw.line([(left, top), (left, height - bottom), (width - 20, height - bottom)], fill="black")
    for tick in range(0, vmax + 1, 20):
        y = height - bottom - plot_h * tick / vmax
        draw.line([(left - 5, y), (left, y)], fill="black")
        draw.text((left - 8, y), str(tick), fill="black", font=_font(13), anchor="rm")
    slot = (width - 20 - left) / len(labels)
    for i, (label, value, colour) in enumerate(zip(labels, values, colours, strict=True)):
        x0 = left + i * slot + slot * 0.15
        x1 = left + (i + 1) * slot - slot * 0.15
        y0 = height - bottom - plot_h * value / vmax
        draw.rectangle([x0, y0, x1, height - bottom], fill=PALETTE[colour], outline="black")
        draw.text(((x0 + x1) / 2, y0 - 4), str(value), fill="black", font=_font(15), anchor="md")
        draw.text(((x0 + x1) / 2, height - bottom + 8), label, fill="black", font=_font(15),
                  anchor="ma")
    return image


def _diagram(params: dict[str, Any]) -> Image.Image:
    steps: list[str] = params["steps"]
    box_w, box_h, gap = 300, 50, 30
    height = 70 + len(steps) * (box_h + gap)
    image = Image.new("RGB", (420, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((210, 25), params["title"], fill="black", font=_font(20), anchor="mm")
    x0 = (420 - box_w) // 2
    for i, step in enumerate(steps):
        y0 = 55 + i * (box_h + gap)
        draw.rounded_rectangle([x0, y0, x0 + box_w, y0 + box_h], radius=10,
                               fill=(225, 235, 250), outline="black", width=2)
        draw.text((210, y0 + box_h / 2), step, fill="black", font=_font(17), anchor="mm")
        if i + 1 < len(steps):
            ya, yb = y0 + box_h, y0 + box_h + gap
            draw.line([(210, ya), (210, yb - 2)], fill="black", width=2)
            draw.polygon([(204, yb - 9), (216, yb - 9), (210, yb - 1)], fill="black")
    return image


def _shapes(params: dict[str, Any]) -> Image.Image:
    image = Image.new("RGB", (520, 360), "white")
    draw = ImageDraw.Draw(image)
    for shape, colour, x, y in params["shapes"]:
        fill = PALETTE[colour]
        if shape == "circle":
            draw.ellipse([x - 28, y - 28, x + 28, y + 28], fill=fill, outline="black")
        elif shape == "square":
            draw.rectangle([x - 26, y - 26, x + 26, y + 26], fill=fill, outline="black")
        else:  # triangle
            draw.polygon([(x, y - 30), (x - 30, y + 24), (x + 30, y + 24)], fill=fill,
                         outline="black")
    return image


def _text_picture_plain(params: dict[str, Any]) -> Image.Image:
    lines: list[str] = params["lines"]
    style = params["style"]
    size = 30 if style == "sign" else 20
    font = _font(size)
    line_h = int(size * 1.5)
    width = 40 + max(int(draw_len(line, font)) for line in lines)
    height = 40 + line_h * len(lines)
    background = {"sign": (250, 250, 235), "note": (255, 245, 160), "receipt": "white",
                  "problem": (240, 240, 240)}[style]
    image = Image.new("RGB", (max(width, 240), height), background)
    draw = ImageDraw.Draw(image)
    if style == "sign":
        draw.rectangle([4, 4, image.width - 5, image.height - 5], outline=(180, 20, 20), width=6)
    for i, line in enumerate(lines):
        draw.text((20, 20 + i * line_h), line, fill="black", font=font)
    return image


def _sign(params: dict[str, Any]) -> Image.Image:
    # Signs use wide word gaps: with the bundled font's tight capitals, OCR otherwise reads
    # "CLOSED FOR CLEANING" as one word, and no model could then give the words back.
    spaced = {**params, "lines": [line.replace(" ", "   ") for line in params["lines"]]}
    return _text_picture_plain(spaced)


def draw_len(text: str, font: ImageFont.FreeTypeFont) -> float:
    return font.getlength(text)


def _text_picture(params: dict[str, Any]) -> Image.Image:
    return _sign(params) if params["style"] == "sign" else _text_picture_plain(params)


_DRAWERS = {
    "photo": _photo,
    "bar_chart": _bar_chart,
    "diagram": _diagram,
    "shapes": _shapes,
    "text_picture": _text_picture,
}


def espeak_version() -> str:
    """The espeak-ng version line (recorded: a different version speaks different bytes)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        return "missing"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().split("  Data")[0]


def _speech(text: str, path: Path) -> None:
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        raise RuntimeError("Spoken turns need espeak-ng and sox: apt-get install -y espeak-ng sox")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text],
                       check=True, capture_output=True)
        # -D: no dither, which is random; without it the same text gives different bytes.
        subprocess.run(["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path)],
                       check=True, capture_output=True)


def render(spec: MediaSpec, out_dir: Path) -> Path:
    """Write `spec` under `out_dir` (skipped when already there) and return the file's path.

    Written to a temporary name and renamed, so an interrupted render never leaves half a file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / spec.filename
    if path.is_file() and path.stat().st_size > 0:
        return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        if spec.kind == "speech":
            _speech(spec.params["text"], tmp)
        else:
            image = _DRAWERS[spec.kind](spec.params)
            if spec.kind == "photo":
                image.save(tmp, format="JPEG", quality=90)
            else:
                image.save(tmp, format="PNG", optimize=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
