"""The records that cross the backend boundary: what is asked, and what it cost."""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from backends.errors import UnreadableAttachment
from backends.media import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS, MediaLimits, accepted_types, inspect

AttachmentKind = Literal["image", "audio"]
Role = Literal["system", "user", "assistant"]

IMAGE_SUFFIXES = set(IMAGE_EXTENSIONS)
AUDIO_SUFFIXES = set(AUDIO_EXTENSIONS)


def sha256_file(path: Path) -> str:
    """Content hash: the key for perception caches and the session log (never the path)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Attachment:
    """One file a person attached to a turn, with its size in pixels or seconds once checked
    (0 = not measured: the budget guard then assumes the largest the limits allow)."""

    kind: AttachmentKind
    path: Path
    sha256: str
    mime: str
    width: int = 0
    height: int = 0
    duration_s: float = 0.0

    @classmethod
    def from_path(cls, path: str | Path, max_bytes: int = 25 * 1024 * 1024,
                  limits: MediaLimits | None = None) -> Attachment:
        """Classify and hash a file; refuse what no backend could read, with a clear reason.

        With `limits`, also decode and measure it (`backends.media.inspect`): the check at
        upload. Without, only the name and size are checked (cheap, for trusted files)."""
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
                f"The file {path.name!r} is not an image or audio file LCIO can read; it takes "
                f"{accepted_types()}."
            )
        mime = mimetypes.guess_type(path.name)[0] or f"{kind}/{suffix.lstrip('.')}"
        digest = sha256_file(path)
        info = inspect(path, kind, limits, digest) if limits is not None else None
        return cls(kind=kind, path=path, sha256=digest, mime=mime,
                   width=info.width if info else 0, height=info.height if info else 0,
                   duration_s=info.duration_s if info else 0.0)


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
    # Seconds the whole answer may take (what is left of the waiting budget); None: no cap.
    time_left_s: float | None = None


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
