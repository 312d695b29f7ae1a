"""Attachment bytes in the shapes OpenAI-compatible endpoints accept.

Images are downscaled (a provider bills and a small model sees no more than
`max_image_side` pixels on the long side) and sent as data URIs; audio is sent as 16 kHz
mono 16-bit WAV, the one format every `input_audio` endpoint and speech model reads.
Anything that cannot be decoded raises `UnreadableAttachment` with a reason for a person.

`inspect` is the check at upload: it reads an image's size from its header (refusing pixel
bombs before anything is decoded), then decodes it fully under the pixel cap (so a truncated
file is caught there, not on some backend), and reads an audio file's real duration. Those
figures are what the budget guard prices, so they are kept on the `Attachment`.
"""

from __future__ import annotations

import base64
import binascii
import io
import threading
import wave
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from backends.errors import UnreadableAttachment

WAV_RATE = 16_000
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff")
AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".webm", ".aac", ".opus")
# Everything the app takes; the upload control offers these and refusals name them.
ACCEPTED_EXTENSIONS = IMAGE_EXTENSIONS + AUDIO_EXTENSIONS
# What Pillow may parse: only the accepted formats (its other parsers, EPS included, are never
# reached by an upload whatever its name or bytes).
PILLOW_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")  # JPEG includes phones' MPO
# Formats the image is re-encoded to: lossless where the source may hold flat colour or alpha.
_LOSSLESS_SOURCES = {"PNG", "GIF", "BMP", "TIFF", "WEBP"}


@dataclass(frozen=True)
class EncodedImage:
    """An image ready to send: its bytes, MIME type and size after downscaling."""

    data: bytes
    mime: str
    width: int
    height: int

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def accepted_types() -> str:
    """What the app takes, in words for a person."""
    images = ", ".join(e.lstrip(".").upper() for e in IMAGE_EXTENSIONS if e not in (".jpeg", ".tif"))
    audio = ", ".join(e.lstrip(".").upper() for e in AUDIO_EXTENSIONS)
    return f"images ({images}) and audio ({audio})"


@dataclass(frozen=True)
class MediaLimits:
    """What one attachment may hold: pixels of an image, seconds of audio."""

    max_pixels: int = 40_000_000
    max_audio_s: float = 900.0


@dataclass(frozen=True)
class MediaInfo:
    """What the budget guard needs of an attachment: pixels, or seconds of sound."""

    width: int = 0
    height: int = 0
    duration_s: float = 0.0


def inspect(path: str | Path, kind: str, limits: MediaLimits, sha256: str = "") -> MediaInfo:
    """Check an upload and measure it; raises `UnreadableAttachment` with a reason.

    Audio is measured by decoding it (metadata is file-controlled and can understate the
    length), stopping just past the limit; the decoded WAV is kept by `sha256` so sending
    reuses it instead of decoding again."""
    path = Path(path)
    if kind == "image":
        return _inspect_image(path, limits.max_pixels)
    wav = to_wav16k(path, max_s=limits.max_audio_s)
    seconds = wav_duration_s(wav)
    if seconds <= 0:
        raise UnreadableAttachment(f"The audio {path.name!r} holds no sound.")
    if seconds > limits.max_audio_s:
        raise _too_long(path, seconds, limits.max_audio_s)
    if sha256:
        _remember_wav(sha256, wav)
    return MediaInfo(duration_s=seconds)


def _too_long(path: Path, seconds: float, max_s: float, more: bool = False) -> UnreadableAttachment:
    length = f"longer than {_clock(seconds)}" if more else f"{_clock(seconds)} long"
    return UnreadableAttachment(
        f"The audio {path.name!r} is {length}; the limit is "
        f"{_clock(max_s)}. Please send a shorter recording.")


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d} min" if whole >= 60 else f"{seconds:.1f} s"


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.0f}" if pixels >= 10e6 else f"{pixels / 1e6:.2g}"


def _inspect_image(path: Path, max_pixels: int) -> MediaInfo:
    """Size from the header first (nothing decoded), then a full decode under the cap.
    Pillow itself refuses headers past twice its own limit (DecompressionBombError); below
    that, the cap here decides before anything is decoded."""
    from PIL import Image, UnidentifiedImageError

    too_big = (f"The image {path.name!r} is too large: images may have at most "
               f"{_megapixels(max_pixels)} megapixels. Please resize it and send it again.")
    unreadable = f"The image {path.name!r} could not be read (it may be corrupt or not an image)."
    try:
        with Image.open(path, formats=PILLOW_FORMATS) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise UnreadableAttachment(
                    too_big.replace("is too large", f"is {width}x{height} pixels "
                                    f"({_megapixels(width * height)} megapixels)"))
            if width <= 0 or height <= 0:
                raise UnreadableAttachment(unreadable)
            image.load()  # a truncated or corrupt body fails here, at upload
    except Image.DecompressionBombError as exc:
        raise UnreadableAttachment(too_big) from exc
    except UnreadableAttachment:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError,
            MemoryError) as exc:
        raise UnreadableAttachment(unreadable) from exc
    return MediaInfo(width=width, height=height)


def audio_duration_s(path: str | Path, max_s: float | None = None) -> float:
    """Real length of an audio file in seconds, measured by decoding it.

    Container durations, packet durations, sample tables and a WAV's size fields are all
    written by whoever made the file, so none is trusted: the length is the count of decoded
    samples, which is exactly what is sent (`to_wav16k`).
    """
    return wav_duration_s(to_wav16k(path, max_s=max_s))


def _starts_riff_wave(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WAVE"


def _chunks(data: bytes, position: int) -> Iterator[tuple[bytes, int, int]]:
    """(id, payload start, declared size) of each RIFF chunk from `position` on."""
    while position + 8 <= len(data):
        kind, size = data[position:position + 4], int.from_bytes(data[position + 4:position + 8], "little")
        yield kind, position + 8, size
        position += 8 + size + (size & 1)


def _is_chunk_chain(data: bytes, position: int) -> bool:
    """Whether `data[position:]` is whole RIFF chunks (a LIST or id3 tag after the sound)."""
    if position >= len(data):
        return True
    for kind, start, size in _chunks(data, position):
        if not all(0x20 <= byte <= 0x7E for byte in kind):
            return False
        if start + size >= len(data):
            return start + size <= len(data) + 1  # the last chunk may lack its pad byte
    return False


def _wav_sound_span(data: bytes) -> tuple[int, int] | None:
    """Where a RIFF/WAVE file's samples start and end, whatever its size fields say.

    The data chunk's size is the file maker's claim: a header that claims an hour over one
    second of sound, or one second over ten minutes, is ignored. The sound runs to the end
    of the file unless what follows the claimed end is a chain of well-formed chunks (a
    trailing LIST or id3 tag); it ends on a whole frame. None when there is no fmt or data."""
    block_align = 0
    for kind, start, size in _chunks(data, 12):
        if kind == b"fmt " and size >= 14:
            block_align = int.from_bytes(data[start + 12:start + 14], "little")
        elif kind == b"data":
            if block_align <= 0:
                return None
            claimed_end = start + size + (size & 1)
            honest = claimed_end <= len(data) and _is_chunk_chain(data, claimed_end)
            end = start + size if honest else len(data)
            return start, start + (end - start) // block_align * block_align
    return None


def _honest_wav(data: bytes) -> bytes:
    """The RIFF/WAVE file cut where its sound ends, its size fields set to what it holds,
    so every reader (our decoder, `wave`, an endpoint) sees the same samples."""
    span = _wav_sound_span(data)
    if span is None:
        return data
    start, end = span
    out = bytearray(data[:end])
    out[4:8] = (end - 8).to_bytes(4, "little")
    out[start - 4:start] = (end - start).to_bytes(4, "little")
    return bytes(out)


def encode_image(path: str | Path, max_side: int) -> EncodedImage:
    """Open, orient, downscale (long side <= `max_side`) and re-encode an image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    image: Image.Image  # the opened ImageFile, then exif_transpose's plain Image
    try:
        with Image.open(path, formats=PILLOW_FORMATS) as image:
            source_format = image.format or ""
            image.load()
            image = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UnreadableAttachment(
            f"The image {path.name!r} could not be read (it may be corrupt or not an image)."
        ) from exc
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    buffer = io.BytesIO()
    if has_alpha or source_format in _LOSSLESS_SOURCES:
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA" if has_alpha else "RGB")
        image.save(buffer, format="PNG", optimize=False)
        mime = "image/png"
    else:
        image.convert("RGB").save(buffer, format="JPEG", quality=90)
        mime = "image/jpeg"
    return EncodedImage(buffer.getvalue(), mime, image.width, image.height)


@lru_cache(maxsize=64)
def _cached_image_uri(path: str, sha256: str, max_side: int) -> str:
    return encode_image(path, max_side).data_uri


def image_data_uri(path: str | Path, max_side: int, sha256: str = "") -> str:
    """`data:image/...;base64,...` of the downscaled image; cached by content hash when given."""
    if sha256:
        return _cached_image_uri(str(path), sha256, max_side)
    return encode_image(path, max_side).data_uri


def _is_wav16k_mono(data: bytes) -> bool:
    try:
        with wave.open(io.BytesIO(data)) as reader:
            return (
                reader.getframerate() == WAV_RATE
                and reader.getnchannels() == 1
                and reader.getsampwidth() == 2
                and reader.getnframes() > 0
            )
    except (wave.Error, EOFError, ValueError):
        return False


def to_wav16k(path: str | Path, max_s: float | None = None) -> bytes:
    """The audio of any file PyAV decodes (wav, mp3, ogg, webm, m4a, flac) as 16 kHz mono WAV.

    With `max_s`, decoding stops once the sound runs a second past it and the file is refused
    (a file cannot make the app decode, hold or send more than the limit). A RIFF/WAVE file
    is read as the samples it holds, whatever its size fields claim (`_honest_wav`)."""
    import av

    path = Path(path)
    raw = path.read_bytes()
    if path.suffix.lower() == ".wav" and not _starts_riff_wave(raw):
        raise UnreadableAttachment(f"The audio {path.name!r} could not be read (it is not a valid WAV file).")
    source: bytes | str = _honest_wav(raw) if _starts_riff_wave(raw) else str(path)
    if isinstance(source, bytes) and _is_wav16k_mono(source):
        return source
    cap_bytes = None if max_s is None else int((max_s + 1) * WAV_RATE) * 2
    pcm = bytearray()
    try:
        with av.open(io.BytesIO(source) if isinstance(source, bytes) else source, "r") as container:
            if not container.streams.audio:
                raise UnreadableAttachment(f"The file {path.name!r} has no audio in it.")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=WAV_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pcm += bytes(out.planes[0])[: out.samples * 2]
                if cap_bytes is not None and len(pcm) > cap_bytes:
                    raise _too_long(path, cap_bytes / 2 / WAV_RATE, max_s or 0.0, more=True)
            for out in resampler.resample(None):
                pcm += bytes(out.planes[0])[: out.samples * 2]
    except UnreadableAttachment:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise UnreadableAttachment(
            f"The audio {path.name!r} could not be decoded (it may be corrupt or of an "
            "unsupported type)."
        ) from exc
    if not pcm:
        raise UnreadableAttachment(f"The audio {path.name!r} holds no sound.")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(WAV_RATE)
        writer.writeframes(bytes(pcm))
    return buffer.getvalue()


# Decoded uploads by content hash (bounded in bytes): the upload check decodes once, sending reuses it.
_WAV_CACHE: OrderedDict[str, bytes] = OrderedDict()
_WAV_CACHE_BYTES = 256 * 2**20
_WAV_LOCK = threading.Lock()


def _remember_wav(sha256: str, wav: bytes) -> None:
    with _WAV_LOCK:
        _WAV_CACHE[sha256] = wav
        _WAV_CACHE.move_to_end(sha256)
        while len(_WAV_CACHE) > 1 and sum(map(len, _WAV_CACHE.values())) > _WAV_CACHE_BYTES:
            _WAV_CACHE.popitem(last=False)


def _decoded_wav(path: str, sha256: str) -> bytes:
    with _WAV_LOCK:
        wav = _WAV_CACHE.get(sha256)
    if wav is None:
        wav = to_wav16k(path)
        _remember_wav(sha256, wav)
    return wav


@lru_cache(maxsize=32)
def _cached_wav_b64(path: str, sha256: str) -> str:
    return base64.b64encode(_decoded_wav(path, sha256)).decode("ascii")


def audio_wav_b64(path: str | Path, sha256: str = "") -> str:
    """Base64 of the 16 kHz mono WAV, as `input_audio.data` wants it."""
    if sha256:
        return _cached_wav_b64(str(path), sha256)
    return base64.b64encode(to_wav16k(path)).decode("ascii")


def wav_duration_s(data: bytes) -> float:
    """Length of a WAV in seconds (0 when it is not a readable WAV)."""
    try:
        with wave.open(io.BytesIO(data)) as reader:
            return reader.getnframes() / float(reader.getframerate())
    except (wave.Error, EOFError, ValueError, ZeroDivisionError):
        return 0.0


_MIME_SUFFIX = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
}


def decode_data_uri(uri: str) -> tuple[bytes, str]:
    """Bytes and MIME type of a `data:<mime>;base64,<data>` URI (what the server receives)."""
    if not uri.startswith("data:") or "," not in uri:
        raise UnreadableAttachment("Only inline images (data: URIs) are accepted.")
    header, payload = uri[5:].split(",", 1)
    parts = header.split(";")
    mime = parts[0] or "application/octet-stream"
    if "base64" not in parts[1:]:
        raise UnreadableAttachment("The inline image is not base64-encoded.")
    return decode_b64(payload), mime


def decode_b64(payload: str) -> bytes:
    """Strict base64 decode, refusing garbage with a clear message."""
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnreadableAttachment("The attachment's base64 data is malformed.") from exc


def suffix_for_mime(mime: str) -> str:
    """A file suffix `Attachment.from_path` classifies correctly for an image MIME type."""
    return _MIME_SUFFIX.get(mime.lower(), ".png")
