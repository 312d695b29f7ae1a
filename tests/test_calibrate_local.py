"""`python -m lab.calibrate` measures the local model in use too: here the tiny nf4 fixture
model through the app's real `LocalBackend` (the real nf4 path, a stub perception so no
perception model loads), beside a fake cloud (the stand-in server over real HTTP with an
echoing generator, posing as another provider). tests/test_calibrate_real.py does both
sides with the real SmolLM2 and the real stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backends.config import Settings
from backends.local import LocalBackend
from backends.standin import StandinServer
from backends.types import Completion
from lab.calibrate import local_run
from lab.calibrate.cli import main
from lab.calibrate.local_side import TimeCap
from lab.calibrate.sample import SourceFile
from policies.artifacts import BENCH_PATH
from policies.bench.dataset import load_bench
from tests.calibrate_support import MODEL, acme_prices, provider_env, provider_server, read_jsonl
from tests.standin_fakes import EchoBackend

TINY = "tiny-llama"


@pytest.fixture(scope="module")
def server() -> Iterator[StandinServer]:
    with provider_server(EchoBackend()) as running:
        yield running


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-media")


@pytest.fixture
def tiny_local(tiny_model: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> LocalBackend:
    """The calibration's local backend: the app's LocalBackend on the tiny nf4 model."""
    model, tokenizer = tiny_model
    model._lcio_name = TINY
    backend = LocalBackend(Settings(local_context_tokens=512), model=model, tokenizer=tokenizer,
                           perceive=lambda attachment: f"a {attachment.kind} file")
    monkeypatch.setattr(local_run, "local_backend", lambda settings: backend)
    return backend


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, server: StandinServer, tmp_path: Path) -> None:
    provider_env(monkeypatch, server, acme_prices(tmp_path))
    from policies.bench.planner import BenchPlannerConfig

    monkeypatch.setattr(BenchPlannerConfig, "epochs", 1)  # the recipe, one epoch: this is no fit


def args(tmp_path: Path, media: Path, *extra: str) -> list[str]:
    return ["--dataset", str(BENCH_PATH), "--out", str(tmp_path / "cal.jsonl"),
            "--policy-out", str(tmp_path / "policy.json"), "--media-dir", str(media),
            "--no-progress", "--max-new-tokens", "8", *extra]


def test_both_sides_are_measured_composed_and_recorded(env: None, tiny_local: LocalBackend,
                                                       tmp_path: Path, media: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args(tmp_path, media, "--limit", "4")) == 0
    shown = capsys.readouterr().out
    assert f"Local model {TINY} (nf4, was SmolLM2-135M-Instruct)" in shown
    assert "local score" in shown and "cloud score" in shown  # both per-task tables

    source = SourceFile.read(BENCH_PATH)
    rows = read_jsonl(tmp_path / "cal.local-measurements.jsonl")
    header, local = rows[0], [r for r in rows[1:] if r["type"] == "outcome"]
    assert header["local"] == {"model": TINY, "quantization": "nf4"}
    assert local and all(r["location"] == "local" and r["model"] == TINY for r in local)
    assert all(r["answer"].strip() and r["measured"]["energy_j"] > 0 for r in local)

    out = read_jsonl(tmp_path / "cal.jsonl")
    assert out[0]["models"]["local"]["model"] == TINY and out[0]["models"]["cloud"]["model"] == MODEL
    assert out[0]["calibration"]["sides"]["local"]["measured_turns"] == 4
    by_key = {r["key"]: r for r in out[1:] if r["type"] == "outcome"}
    marks = [r["calibration"] for r in by_key.values() if r["location"] == "local"]
    assert marks.count("measured") == len(local) and "rescaled" in marks
    rescaled = next(r for r in by_key.values()
                    if r["location"] == "local" and r["calibration"] == "rescaled")
    assert rescaled["model"] == TINY and rescaled != source.outcomes[rescaled["key"]]
    assert load_bench(tmp_path / "cal.jsonl").complete()

    calibrated_for = json.loads((tmp_path / "policy.json").read_text())["calibrated_for"]
    assert calibrated_for["model"] == MODEL
    assert calibrated_for["local"] == {"model": TINY, "quantization": "nf4"}


def test_time_cap_is_checked_before_every_request_and_a_rerun_goes_on(
        env: None, tiny_local: LocalBackend, tmp_path: Path, media: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    base = args(tmp_path, media, "--limit", "3", "--sides", "local", "--no-train")
    assert main([*base, "--max-local-s", "0"]) == 3  # nothing fits: nothing asked
    assert "Stopped at the time cap" in capsys.readouterr().out
    assert len(read_jsonl(tmp_path / "cal.local-measurements.jsonl")) == 1  # the header only
    assert main([*base, "--max-local-s", "600"]) == 0
    first = read_jsonl(tmp_path / "cal.local-measurements.jsonl")[1:]
    assert main([*base, "--max-local-s", "600"]) == 0
    assert f"({len(first)} already there" in capsys.readouterr().out
    assert read_jsonl(tmp_path / "cal.local-measurements.jsonl")[1:] == first  # nothing asked twice


def test_the_cap_counts_the_slowest_answer_before_the_next() -> None:
    cap = TimeCap(10.0)
    assert cap.allows()
    cap.add(4.0)
    assert cap.allows()  # 4 + 4 < 10
    cap.add(2.0)
    assert not cap.allows()  # 6 + 4 would pass 10


class EmptyLocal:
    """A local model that answers nothing (a broken LCIO_LOCAL_MODEL)."""

    model_name = "broken-local"

    def load(self) -> None:
        return None

    def generate(self, request: Any) -> Completion:
        return Completion(text="  ", backend="local", model=self.model_name, ttft_s=0.1,
                          latency_s=0.2, prompt_tokens=10, completion_tokens=0)


def test_a_local_model_giving_empty_answers_stops_the_run_and_installs_nothing(
        env: None, tmp_path: Path, media: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import policies.artifacts

    app_policy = tmp_path / "app-policy.json"
    app_policy.write_text("shipped")
    monkeypatch.setattr(policies.artifacts, "APP_POLICY_PATH", app_policy)
    monkeypatch.setattr(local_run, "local_backend", lambda settings: EmptyLocal())
    assert main(args(tmp_path, media, "--limit", "4", "--install")) == 3
    shown = capsys.readouterr().out
    assert "the local model gave an empty answer" in shown and "3 failed" in shown
    assert "nothing is composed, trained or installed" in shown
    assert app_policy.read_text() == "shipped"
    assert not (tmp_path / "policy.json").exists() and not (tmp_path / "cal.jsonl").exists()
