"""What a cloud answer cost, from the `usage` the endpoint reports and a versioned price table.

The table (assets/prices.json) holds USD per 1M tokens for input, cached input, output and
audio tokens, plus an optional per-image charge. A model that is not listed is priced by
the table's "default" row, so an unknown model is never free. `image_token_multiplier` is how
many times more tokens than OpenAI's tile accounting (`backends.units`) a model's own image
accounting can bill (gpt-4o-mini bills 33.3x; 1.0 where it is that accounting); only the
worst case before a turn needs it, a bill reads the tokens the endpoint reports.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from backends import units

PER_TOKEN = 1e-6  # table figures are per 1M tokens


@dataclass(frozen=True)
class ModelPrice:
    """USD per 1M tokens (and per image) of one model."""

    input: float
    output: float
    cached_input: float
    audio_input: float
    audio_output: float
    usd_per_image: float = 0.0
    image_token_multiplier: float = 1.0

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ModelPrice:
        """Fill what a row leaves out from what it says: cached and audio cost as plain tokens."""
        unknown = set(row) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown price fields: {sorted(unknown)}")
        if "input" not in row or "output" not in row:
            raise ValueError("a price row needs 'input' and 'output'")
        values = {key: float(value) for key, value in row.items()}
        if any(value < 0 for value in values.values()):
            raise ValueError("prices cannot be negative")
        return cls(
            input=values["input"],
            output=values["output"],
            cached_input=values.get("cached_input", values["input"]),
            audio_input=values.get("audio_input", values["input"]),
            audio_output=values.get("audio_output", values["output"]),
            usd_per_image=values.get("usd_per_image", 0.0),
            image_token_multiplier=max(1.0, values.get("image_token_multiplier", 1.0)),
        )


def _get(obj: Any, name: str) -> Any:
    """Read a field of a usage dict or of an SDK object alike."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and value > 0 else 0


@dataclass(frozen=True)
class PriceTable:
    """A loaded price table; `cost` turns one response's usage into dollars."""

    version: str
    updated: str
    prices: Mapping[str, ModelPrice]

    @classmethod
    def load(cls, path: str | Path) -> PriceTable:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceTable:
        models = data.get("models") or {}
        if "default" not in models:
            raise ValueError("a price table needs a 'default' row")
        prices = {name: ModelPrice.from_row(row) for name, row in models.items()}
        return cls(version=str(data.get("version", "")), updated=str(data.get("updated", "")),
                   prices=prices)

    def price(self, model: str) -> ModelPrice:
        """The row of `model`: exact name, else the longest listed prefix of a dated or
        provider-prefixed name (gpt-4o-mini-2024-07-18, openai/gpt-4o), else "default"."""
        name = model.strip().lower()
        if name in self.prices:
            return self.prices[name]
        name = name.rsplit("/", 1)[-1]
        if name in self.prices:
            return self.prices[name]
        matches = [key for key in self.prices if key != "default" and name.startswith(key + "-")]
        if matches:
            return self.prices[max(matches, key=len)]
        return self.prices["default"]

    def is_listed(self, model: str) -> bool:
        """Whether `model` has a row of its own (else it is priced as "default")."""
        return self.price(model) is not self.prices["default"]

    def cost(self, model: str, usage: Any, images: int = 0) -> float:
        """USD of one response. `usage` is an OpenAI `usage` (dict or SDK object): cached and
        audio input tokens (`prompt_tokens_details`) and audio output tokens
        (`completion_tokens_details`) are priced at their own rates, the rest as text."""
        row = self.price(model)
        prompt = _int(_get(usage, "prompt_tokens"))
        completion = _int(_get(usage, "completion_tokens"))
        prompt_details = _get(usage, "prompt_tokens_details")
        completion_details = _get(usage, "completion_tokens_details")
        cached = min(_int(_get(prompt_details, "cached_tokens")), prompt)
        audio_in = min(_int(_get(prompt_details, "audio_tokens")), prompt - cached)
        audio_out = min(_int(_get(completion_details, "audio_tokens")), completion)
        text_in = prompt - cached - audio_in
        text_out = completion - audio_out
        usd = PER_TOKEN * (
            text_in * row.input
            + cached * row.cached_input
            + audio_in * row.audio_input
            + text_out * row.output
            + audio_out * row.audio_output
        )
        return usd + max(images, 0) * row.usd_per_image

    def worst_case_cost(self, model: str, prompt_tokens: int, max_new_tokens: int,
                        audio_tokens: int = 0, image_tokens: int = 0) -> float:
        """Upper bound of a turn's cost before it runs (for the budget guard).

        `prompt_tokens` counts everything sent; `audio_tokens` and `image_tokens` are the parts
        of it that are audio (priced at the audio rate) and images (in tile accounting, scaled
        by the row's `image_token_multiplier`); every image may also carry `usd_per_image`."""
        row = self.price(model)
        audio = max(0, audio_tokens)
        image = max(0, image_tokens)
        text = max(0, prompt_tokens - audio - image)
        scaled_image = round(image * row.image_token_multiplier)
        usage = {"prompt_tokens": text + audio + scaled_image, "completion_tokens": max_new_tokens,
                 "prompt_tokens_details": {"audio_tokens": audio}}
        images = -(-image // units.IMAGE_BASE_TOKENS) if image else 0  # at least 85 tokens each
        return self.cost(model, usage, images=images)


_DEFAULT_TABLES: dict[Path, PriceTable] = {}


def load_prices(path: str | Path) -> PriceTable:
    """Load a table once per process (it is read on every cloud turn)."""
    key = Path(path).resolve()
    if key not in _DEFAULT_TABLES:
        _DEFAULT_TABLES[key] = PriceTable.load(key)
    return _DEFAULT_TABLES[key]
