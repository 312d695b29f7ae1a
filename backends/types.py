"""The records that cross the backend boundary: what is asked, and what it cost."""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from backends.errors import UnreadableAttachment

AttachmentKind = Literal["image", "audio"]
Role = Literal["system", "user", "assistant"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
AUDIO_SUFFIXES = {".wav", ".mp3", ".flac", ".ogg", ".m4a", ".webm", ".aac", ".opus"}


def sha256_file(path: Path) -> str:
    """Content hash: the key for perception caches and the session log (never the path)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Attachment:
    """One file a person attached to a turn."""

    kind: AttachmentKind
    path: Path
    sha256: str
    mime: str

    @classmethod
    def from_path(cls, path: str | Path, max_bytes: int = 25 * 1024 * 1024) -> Attachment:
        """Classify and hash a file; refuse what no backend could read, with a clear reason."""
        path = Path(path)
        if not path.is_file():
            raise UnreadableAttachment(f"The file {path.name!r} could not be found.")
        size = path.stat().st_size
        if size == 0:
            raise UnreadableAttachment(f"The file {path.name!r} is empty.")
        if size > max_bytes:
            raise UnreadableAttachment(
                f"The file {path.name!r} is {size / 2**20:.1f} MB; the limit is "
                f"{max_bytes / 2**20:.0f} MB."
            )
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            kind: AttachmentKind = "image"
        elif suffix in AUDIO_SUFFIXES:
            kind = "audio"
        else:
            raise UnreadableAttachment(
                f"The file {path.name!r} is not an image or audio file LCIO can read."
            )
        mime = mimetypes.guess_type(path.name)[0] or f"{kind}/{suffix.lstrip('.')}"
        return cls(kind=kind, path=path, sha256=sha256_file(path), mime=mime)


@dataclass(frozen=True)
class Message:
    """One message of a dialogue; attachments belong to the message that carried them."""

    role: Role
    text: str
    attachments: tuple[Attachment, ...] = ()


@dataclass
class ChatRequest:
    """A turn to answer: the dialogue so far, ending with the person's new message."""

    messages: list[Message]
    max_new_tokens: int = 256
    temperature: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class Completion:
    """What one answer produced and cost; the budget ledger and the session log read this."""

    text: str
    backend: str
    model: str
    ttft_s: float
    latency_s: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float = 0.0
    energy_j: float = 0.0
    perception_s: float = 0.0
    finish_reason: str = "stop"
    attachments_used: tuple[str, ...] = ()
    usage_estimated: bool = False  # token counts (and so cost) estimated: no `usage` came back
