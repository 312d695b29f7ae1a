"""What asking the cloud one bench request may cost: an expectation and a bound.

The bound (`worst_usd`) is what the dollar cap is checked against before every request, so
a run never spends past `--max-usd`: every character of every message counted as a token
(`backends.units.text_tokens_bound`), each attachment of the whole conversation at its
tile-accounted image tokens or its audio seconds plus the perception text a text-only model
would read instead, the full `max_new_tokens` answer, all at the configured model's row of
the price table (with its image multiplier and per-image charge). The expectation
(`expected_usd`) prices about four characters a token and no perception text, with the full
answer length: what the run is likely to cost, printed before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backends import units
from backends.cloud import estimate_tokens
from backends.pricing import PriceTable


@dataclass(frozen=True)
class Estimate:
    expected_usd: float
    worst_usd: float


def _image_tokens(attachment: Any, max_side: int) -> int:
    if attachment.width <= 0 or attachment.height <= 0:  # unmeasured: the largest it could be
        return units.image_tokens(max_side, max_side)
    return units.image_tokens(*units.scaled_size(attachment.width, attachment.height, max_side))


def _audio_s(attachment: Any, settings: Any) -> float:
    return attachment.duration_s if attachment.duration_s > 0 else settings.max_audio_s


def estimate(request: Any, model: str, prices: PriceTable, settings: Any) -> Estimate:
    """Expected and worst-case dollars of one `ChatRequest` to `model`."""
    files = [a for m in request.messages for a in m.attachments]
    image = sum(_image_tokens(a, settings.max_image_side) for a in files if a.kind == "image")
    audio_worst = sum(units.audio_tokens_bound(_audio_s(a, settings)) for a in files
                      if a.kind == "audio")
    audio = sum(units.audio_tokens(_audio_s(a, settings)) for a in files if a.kind == "audio")
    overhead = units.MESSAGE_OVERHEAD_TOKENS * len(request.messages)
    text_worst = (sum(units.text_tokens_bound(m.text) for m in request.messages) + overhead
                  + units.REQUEST_OVERHEAD_TOKENS + units.PERCEPTION_TEXT_TOKENS * len(files))
    text = sum(estimate_tokens(m.text) for m in request.messages) + overhead
    new = request.max_new_tokens
    return Estimate(
        expected_usd=prices.worst_case_cost(model, text + image + audio, new, audio, image),
        worst_usd=prices.worst_case_cost(model, text_worst + image + audio_worst, new,
                                         audio_worst, image),
    )


class SpendCap:
    """Dollars spent so far against the cap; a request starts only if its bound fits."""

    def __init__(self, max_usd: float, spent_usd: float = 0.0) -> None:
        self.max_usd = max_usd
        self.spent_usd = spent_usd

    def allows(self, worst_usd: float) -> bool:
        return self.spent_usd + worst_usd <= self.max_usd

    def add(self, usd: float) -> None:
        self.spent_usd += max(0.0, usd)

    @property
    def left_usd(self) -> float:
        return max(0.0, self.max_usd - self.spent_usd)
