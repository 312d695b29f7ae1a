"""What an answer that came back without `usage` is booked at: never less than a provider bills.

Some endpoints (Ollama, llama.cpp, proxies that drop `stream_options`) send no `usage`, and a
stream cut off midway never gets one. The ledger then books an upper bound, built from what
was really sent and received and from the figures the budget guard's worst case also uses
(`backends.units`, the one place for them):

- text: UTF-8 bytes (no byte-level BPE token holds less than a byte), plus the chat format's
  own tokens per message and per request (role markers, a template's default system prompt,
  the reply's priming);
- each image at its size as sent, in OpenAI's tile accounting, each audio part at the length
  of the WAV sent, plus a second; and for each attachment the perception text a text-only
  endpoint reads instead (the stand-in does);
- the answer's bytes plus one message's format tokens, never more than `max_tokens` (no
  endpoint bills past it).

A chars/4 guess with 85 tokens an attachment booked 20 prompt tokens for a turn billed 36.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backends import units
from backends.media import wav_duration_s


@dataclass(frozen=True)
class TokenBound:
    """Upper bounds of the tokens one request is billed, by kind."""

    text: int  # prompt text, chat format and perception text
    image: int  # tile-accounted, before a price row's multiplier
    audio: int
    completion: int

    @property
    def prompt(self) -> int:
        return self.text + self.image + self.audio


def bound_tokens(messages: Iterable[Mapping[str, Any]], answer: str, max_tokens: int) -> TokenBound:
    """The most tokens an endpoint can bill for `messages` (as sent) and the `answer` received."""
    text = image = audio = 0
    count = 0
    for message in messages:
        count += 1
        content = message.get("content") or ""
        for part in [{"type": "text", "text": content}] if isinstance(content, str) else content:
            kind = part.get("type")
            if kind == "text":
                text += units.text_tokens_bound(str(part.get("text") or ""))
            elif kind == "image_url":
                image += _image_part_tokens(part)
                text += units.PERCEPTION_TEXT_TOKENS
            elif kind == "input_audio":
                audio += _audio_part_tokens(part)
                text += units.PERCEPTION_TEXT_TOKENS
    text += units.MESSAGE_OVERHEAD_TOKENS * count + units.REQUEST_OVERHEAD_TOKENS
    completion = units.text_tokens_bound(answer) + units.MESSAGE_OVERHEAD_TOKENS
    if max_tokens > 0:
        completion = min(completion, max_tokens)
    return TokenBound(text=text, image=image, audio=audio, completion=completion)


def _image_part_tokens(part: Mapping[str, Any]) -> int:
    """Tile tokens of the image as sent (its data URI, already downscaled); the largest an
    image can cost when its size cannot be read."""
    from PIL import Image, UnidentifiedImageError

    spec = part.get("image_url")
    url = spec.get("url") if isinstance(spec, Mapping) else spec
    try:
        data = base64.b64decode(str(url).split(",", 1)[1], validate=True)
        with Image.open(io.BytesIO(data)) as image:
            return units.image_tokens(*image.size)
    except (IndexError, binascii.Error, ValueError, OSError, UnidentifiedImageError):
        return units.image_tokens(units.IMAGE_FIT_PX, units.IMAGE_SHORT_SIDE_PX)  # 8 tiles, the most


def _audio_part_tokens(part: Mapping[str, Any]) -> int:
    """Audio tokens of the WAV as sent, with the bound's extra second: its header says what
    it holds (`backends.media.to_wav16k` rewrites it), the length measured at upload."""
    spec = part.get("input_audio") or {}
    try:
        data = base64.b64decode(str(spec.get("data") or ""), validate=True)
    except (binascii.Error, ValueError):
        data = b""
    return units.audio_tokens_bound(wav_duration_s(data))
