"""Price table: the shipped file is well-formed, and cost arithmetic is exact."""

from __future__ import annotations

import json

import pytest
from openai.types import CompletionUsage

from backends.config import Settings
from backends.pricing import ModelPrice, PriceTable, load_prices


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load(Settings().price_table)


def test_shipped_table_is_versioned_and_has_the_rows_the_app_needs(table: PriceTable) -> None:
    raw = json.loads(Settings().price_table.read_text())
    assert raw["version"] and raw["updated"]
    assert "check before relying" in raw["note"]
    for model in ("default", "lcio-standin", "gpt-4o-mini", "gpt-4o", "gpt-4.1-mini",
                  "gpt-4o-audio-preview"):
        assert model in table.prices, model
    for row in table.prices.values():
        assert row.output >= row.input > 0
        assert row.cached_input <= row.input
    # An unknown model must never look cheaper than the dearest listed text model.
    assert table.prices["default"].input >= max(p.input for p in table.prices.values())


def test_text_tokens_priced_per_million(table: PriceTable) -> None:
    usage = {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000}
    assert table.cost("gpt-4o-mini", usage) == pytest.approx(0.15 + 0.60)
    assert table.cost("gpt-4o", {"prompt_tokens": 1200, "completion_tokens": 300}) == (
        pytest.approx(1200 * 2.50e-6 + 300 * 10.00e-6)
    )


def test_cached_and_audio_tokens_use_their_own_rates(table: PriceTable) -> None:
    usage = {
        "prompt_tokens": 1000,
        "completion_tokens": 100,
        "prompt_tokens_details": {"cached_tokens": 400, "audio_tokens": 200},
        "completion_tokens_details": {"audio_tokens": 50},
    }
    expected = 1e-6 * (400 * 2.50 + 400 * 2.50 + 200 * 40.0 + 50 * 10.0 + 50 * 80.0)
    # gpt-4o-audio-preview lists no cached rate: cached tokens cost as plain input.
    assert table.cost("gpt-4o-audio-preview", usage) == pytest.approx(expected)
    mini = table.cost("gpt-4o-mini", {"prompt_tokens": 1000, "completion_tokens": 0,
                                      "prompt_tokens_details": {"cached_tokens": 400}})
    assert mini == pytest.approx(600 * 0.15e-6 + 400 * 0.075e-6)


def test_sdk_usage_objects_are_read_like_dicts(table: PriceTable) -> None:
    usage = CompletionUsage.model_validate({
        "prompt_tokens": 1000, "completion_tokens": 10, "total_tokens": 1010,
        "prompt_tokens_details": {"cached_tokens": 1000, "audio_tokens": None},
    })
    assert table.cost("gpt-4.1-mini", usage) == pytest.approx(1000 * 0.10e-6 + 10 * 1.60e-6)


def test_details_larger_than_totals_are_clamped(table: PriceTable) -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 0,
             "prompt_tokens_details": {"cached_tokens": 50, "audio_tokens": 50}}
    assert table.cost("gpt-4o", usage) == pytest.approx(10 * 1.25e-6)


def test_model_lookup_dated_prefixed_unknown(table: PriceTable) -> None:
    assert table.price("gpt-4o-mini-2024-07-18") is table.prices["gpt-4o-mini"]
    assert table.price("openai/gpt-4o") is table.prices["gpt-4o"]
    assert table.price("GPT-4o-mini") is table.prices["gpt-4o-mini"]
    assert table.price("gpt-4o-mini-audio-preview") is table.prices["gpt-4o-mini-audio-preview"]
    assert table.price("llama3.2:3b") is table.prices["default"]
    assert not table.is_listed("llama3.2:3b") and table.is_listed("gpt-4o-2024-08-06")


def test_per_image_charge_and_worst_case() -> None:
    table = PriceTable.from_dict({"version": "t", "updated": "x", "models": {
        "default": {"input": 1.0, "output": 2.0},
        "vision": {"input": 1.0, "output": 2.0, "usd_per_image": 0.01},
    }})
    assert table.cost("vision", {"prompt_tokens": 0, "completion_tokens": 0}, images=3) == (
        pytest.approx(0.03)
    )
    assert table.cost("default", {}, images=3) == 0.0
    assert table.worst_case_cost("vision", 1000, 500) == pytest.approx(1000e-6 + 1000e-6)


def test_malformed_tables_are_refused() -> None:
    with pytest.raises(ValueError, match="default"):
        PriceTable.from_dict({"models": {"x": {"input": 1, "output": 1}}})
    with pytest.raises(ValueError, match="unknown"):
        ModelPrice.from_row({"input": 1, "output": 1, "inptu": 3})
    with pytest.raises(ValueError, match="negative"):
        ModelPrice.from_row({"input": -1, "output": 1})


def test_load_prices_is_cached(tmp_path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"version": 2, "updated": "d", "models": {
        "default": {"input": 1, "output": 1}}}))
    assert load_prices(path) is load_prices(path)
    assert load_prices(path).version == "2"
