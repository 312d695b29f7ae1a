"""An OpenAI chat-completions body, read into the project's types for the stand-in.

Text parts become message text; `image_url` data URIs and `input_audio` parts are written to
a temp folder and passed on as `Attachment`s (the stand-in has no network, so URLs are refused).
Anything malformed is a `BadRequest`, answered with HTTP 400 in OpenAI's error shape.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.config import Settings
from backends.media import decode_b64, decode_data_uri, suffix_for_mime, wav_duration_s
from backends.types import Attachment, ChatRequest, Message

_ROLE_MAP = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
_AUDIO_FORMATS = {"wav", "mp3", "flac", "ogg", "m4a", "webm", "aac", "opus"}


class BadRequest(Exception):
    """A request the stand-in refuses with HTTP 400, in OpenAI's error shape."""

    def __init__(self, message: str, code: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


@dataclass
class ParsedRequest:
    """What the handler needs of a body: the turn, how to answer it, what to bill."""

    chat: ChatRequest
    stream: bool
    include_usage: bool
    images: int
    audio_s: float


def _write(tmpdir: Path, data: bytes, suffix: str) -> Path:
    path = tmpdir / f"{uuid.uuid4().hex}{suffix}"
    path.write_bytes(data)
    return path


def _parse_part(part: Any, tmpdir: Path, max_bytes: int) -> tuple[str, Attachment | None, float]:
    """One content part -> (text, attachment, audio seconds)."""
    if isinstance(part, str):
        return part, None, 0.0
    if not isinstance(part, dict):
        raise BadRequest("Each content part must be an object.")
    kind = part.get("type")
    if kind == "text":
        return str(part.get("text", "")), None, 0.0
    if kind == "image_url":
        spec = part.get("image_url")
        url = spec.get("url") if isinstance(spec, dict) else spec
        if not isinstance(url, str):
            raise BadRequest("image_url.url is missing.")
        if not url.startswith("data:"):
            raise BadRequest("The stand-in has no network: send images as data: URIs.",
                             code="invalid_image_url")
        data, mime = decode_data_uri(url)
        path = _write(tmpdir, data, suffix_for_mime(mime))
        return "", Attachment.from_path(path, max_bytes=max_bytes), 0.0
    if kind == "input_audio":
        spec = part.get("input_audio") or {}
        fmt = str(spec.get("format", "wav")).lower()
        if fmt not in _AUDIO_FORMATS:
            raise BadRequest(f"Unsupported audio format {fmt!r}.", code="invalid_audio_format")
        data = decode_b64(str(spec.get("data", "")))
        path = _write(tmpdir, data, f".{fmt}")
        seconds = wav_duration_s(data) if fmt == "wav" else 0.0
        return "", Attachment.from_path(path, max_bytes=max_bytes), seconds
    raise BadRequest(f"Unsupported content part type {kind!r}.")


def parse_request(body: Any, tmpdir: Path, settings: Settings) -> ParsedRequest:
    """An OpenAI chat-completions body -> ChatRequest with attachments saved under `tmpdir`."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise BadRequest("The body must be a JSON object with a 'messages' list.")
    max_bytes = settings.max_attachment_bytes
    messages: list[Message] = []
    images, audio_s = 0, 0.0
    for raw in body["messages"]:
        if not isinstance(raw, dict):
            raise BadRequest("Each message must be an object.")
        role = _ROLE_MAP.get(str(raw.get("role")))
        if role is None:
            continue  # tool/function messages: nothing this model can use
        content = raw.get("content")
        parts = [content] if isinstance(content, str) else (content or [])
        if not isinstance(parts, list):
            raise BadRequest("message.content must be a string or a list of parts.")
        texts: list[str] = []
        attachments: list[Attachment] = []
        for part in parts:
            text, attachment, seconds = _parse_part(part, tmpdir, max_bytes)
            if text:
                texts.append(text)
            if attachment is not None:
                attachments.append(attachment)
                images += attachment.kind == "image"
                audio_s += seconds
        messages.append(Message(role, "\n".join(texts), tuple(attachments)))  # type: ignore[arg-type]
    if not messages:
        raise BadRequest("There are no messages to answer.")
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or settings.max_new_tokens
    temperature = body.get("temperature")
    stream_options = body.get("stream_options") or {}
    chat = ChatRequest(
        messages=messages,
        max_new_tokens=int(max_tokens),
        temperature=float(temperature) if temperature is not None else 0.0,
    )
    return ParsedRequest(
        chat=chat,
        stream=bool(body.get("stream", False)),
        include_usage=bool(stream_options.get("include_usage", False)),
        images=images,
        audio_s=audio_s,
    )
