"""Calibration of both sides for real: the stand-in with its real model behind it (the one the
stand-in picks: Qwen2.5-Coder-0.5B when its parts check out, else SmolLM2), over real HTTP,
posing as another provider with its own price table, and the real local SmolLM2-135M in nf4
(the app's LocalBackend): a tiny slice, short answers, the cap enforced."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.pricing import PriceTable
from backends.standin import StandinServer
from lab.calibrate.cli import main
from policies.artifacts import BENCH_PATH
from policies.bench.dataset import load_bench
from tests.calibrate_support import MODEL, acme_prices, provider_env, provider_server, read_jsonl

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_server() -> Iterator[StandinServer]:
    with provider_server(None, cloud_timeout_s=300) as running:  # the stand-in's own model
        yield running


def test_real_model_calibration_end_to_end(monkeypatch: pytest.MonkeyPatch,
                                           real_server: StandinServer, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    prices = acme_prices(tmp_path)
    provider_env(monkeypatch, real_server, prices)
    monkeypatch.delenv("LCIO_LOCAL_MODEL", raising=False)  # the embedded SmolLM2
    cap = 0.5
    assert main(["--dataset", str(BENCH_PATH), "--limit", "3", "--max-new-tokens", "8",
                 "--max-usd", str(cap), "--out", str(tmp_path / "cal.jsonl"),
                 "--policy-out", str(tmp_path / "policy.json"), "--media-dir",
                 str(tmp_path / "media"), "--no-progress"]) == 0
    shown = capsys.readouterr().out
    rows = [r for r in read_jsonl(tmp_path / "cal.measurements.jsonl")[1:] if r["type"] == "outcome"]
    table = PriceTable.load(prices)
    assert rows and sum(r["measured"]["cost_usd"] for r in rows) <= cap
    for row in rows:  # a real model's answer, tokens from its tokenizer, billed by the table
        assert row["error"] is None and row["answer"].strip() and row["model"] == MODEL
        assert 0 < row["completion_tokens"] <= 8 and row["prompt_tokens"] > 10
        assert row["measured"]["cost_usd"] == pytest.approx(table.cost(
            MODEL, {"prompt_tokens": row["prompt_tokens"],
                    "completion_tokens": row["completion_tokens"]}))
    local = [r for r in read_jsonl(tmp_path / "cal.local-measurements.jsonl")[1:]
             if r["type"] == "outcome"]
    assert local and "Local model SmolLM2-135M-Instruct (nf4" in shown
    for row in local:  # the real local model's answers, timed and metered on this machine
        assert row["error"] is None and row["answer"].strip()
        assert row["model"] == "SmolLM2-135M-Instruct" and row["location"] == "local"
        assert 0 < row["completion_tokens"] <= 8
        assert row["measured"]["latency_s"] > 0 and row["measured"]["energy_j"] > 0
    assert load_bench(tmp_path / "cal.jsonl").complete()
    assert (tmp_path / "policy.json").exists() and "Policy for acme-mini" in shown
    calibrated_for = json.loads((tmp_path / "policy.json").read_text())["calibrated_for"]
    assert calibrated_for["model"] == MODEL
    assert calibrated_for["local"] == {"model": "SmolLM2-135M-Instruct", "quantization": "nf4"}
