"""The check at the door: a turn's text and files, accepted or refused with a reason.

Every bad file is named (not just the first) with what the app takes; text is made valid
Unicode (a lone surrogate breaks every UTF-8 writer, the log's included). Files are checked
and measured by `backends.media.inspect` (pixels from the header, a full decode under the
cap, audio length by decoding it, never by its metadata), and those measurements are what
the budget guard prices.
"""

from __future__ import annotations

import re

from backends.config import Settings
from backends.errors import UnreadableAttachment
from backends.media import MediaLimits
from backends.types import Attachment

MAX_FILES = 8  # per turn: the policy has 3 slots; more is never used, only checked at a cost
_SURROGATE = re.compile("[\\ud800-\\udfff]")


def read_input(text: str, files: list[str | Attachment], settings: Settings
               ) -> tuple[list[Attachment], str]:
    """The turn's attachments, and a message for the person if anything is refused ("" if
    not). `files` are upload paths, or Attachments already checked (taken as they are)."""
    if not text and not files:
        return [], "Your message is empty. Type a question, or attach an image or audio file."
    limit_chars = settings.local_context_tokens * 3
    if len(text) > limit_chars:
        return [], (f"Your message is {len(text):,} characters long; the limit is "
                    f"{limit_chars:,}. Please shorten it.")
    if len(files) > MAX_FILES:
        return [], (f"You attached {len(files)} files; a turn takes at most {MAX_FILES}. "
                    "Nothing was sent; please send fewer.")
    max_bytes = settings.max_attachment_bytes
    limits = MediaLimits(settings.max_image_pixels, settings.max_audio_s)
    attachments: list[Attachment] = []
    problems: list[str] = []
    for path in files:
        try:
            attachments.append(path if isinstance(path, Attachment)
                               else Attachment.from_path(path, max_bytes=max_bytes, limits=limits))
        except UnreadableAttachment as exc:
            problems.append(exc.message)
    if problems:
        return [], " ".join(problems) + " Nothing was sent; please try again without it."
    return attachments, ""


def clean_text(text: str) -> str:
    """`text` as valid Unicode: a surrogate pair becomes its character, a lone surrogate
    (which no UTF-8 writer accepts, the log's included) becomes U+FFFD."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
