"""How many tokens text, images and audio count as: the one place the guard, the price table
and the stand-in server read these figures from, so a worst case and a bill never disagree.

Images follow OpenAI's published accounting for vision models: at "high" detail the image is
fitted into 2048x2048, then scaled down so its short side is at most 768 px, and billed
`IMAGE_BASE_TOKENS` plus `IMAGE_TILE_TOKENS` per 512 px tile; "low" detail is a flat
`IMAGE_BASE_TOKENS`. Audio input is billed per second (gpt-4o audio: 10 tokens a second).
Text is bounded by its UTF-8 bytes: a byte-level BPE token holds at least one byte, so no
tokenizer can produce more tokens than bytes.
"""

from __future__ import annotations

import math

IMAGE_BASE_TOKENS = 85  # also the whole bill of a "low detail" image
IMAGE_TILE_TOKENS = 170
IMAGE_TILE_PX = 512
IMAGE_FIT_PX = 2048
IMAGE_SHORT_SIDE_PX = 768
AUDIO_TOKENS_PER_S = 10
# Chat formats wrap every message in a few special tokens, and some templates add a default
# system prompt (SmolLM2's does); both bounded generously.
MESSAGE_OVERHEAD_TOKENS = 8
REQUEST_OVERHEAD_TOKENS = 64
# A text-only model reads attachments as perception text (labels, OCR, transcript), clipped
# to 1,500 characters each (backends.perception.MAX_TEXT_CHARS) plus a bracketed header:
# in UTF-8 at most 4 bytes a character.
PERCEPTION_TEXT_TOKENS = 4 * 1_500 + 256


def text_tokens_bound(text: str) -> int:
    """An upper bound of the tokens any byte-level BPE tokenizer makes of `text`."""
    return len(text.encode("utf-8", "replace"))


def scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size after downscaling so the long side is at most `max_side` (never upscaled),
    as `backends.media.encode_image` sends it; rounded up, so never smaller than Pillow's."""
    longest = max(width, height, 1)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return (min(max_side, max(1, math.ceil(width * scale))),
            min(max_side, max(1, math.ceil(height * scale))))


def image_tokens(width: int, height: int) -> int:
    """Tokens of a `width` x `height` image at high detail (OpenAI's tile accounting)."""
    w, h = float(max(width, 1)), float(max(height, 1))
    if max(w, h) > IMAGE_FIT_PX:
        scale = IMAGE_FIT_PX / max(w, h)
        w, h = w * scale, h * scale
    if min(w, h) > IMAGE_SHORT_SIDE_PX:
        scale = IMAGE_SHORT_SIDE_PX / min(w, h)
        w, h = w * scale, h * scale
    tiles = math.ceil(w / IMAGE_TILE_PX) * math.ceil(h / IMAGE_TILE_PX)
    return IMAGE_BASE_TOKENS + IMAGE_TILE_TOKENS * tiles


def audio_tokens(duration_s: float) -> int:
    """Tokens billed for `duration_s` seconds of audio input."""
    return round(max(0.0, duration_s) * AUDIO_TOKENS_PER_S)


def audio_tokens_bound(duration_s: float) -> int:
    """`audio_tokens` of the duration measured at upload, plus a second: decoding and
    resampling to 16 kHz can add a few frames, which must not push a bill over the bound."""
    return math.ceil((max(0.0, duration_s) + 1.0) * AUDIO_TOKENS_PER_S)
