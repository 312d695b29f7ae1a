"""`python -m lab.calibrate` end to end against the stand-in over real HTTP, posing as
another provider ("acme-mini", its own price table, a key required).

A fake generator behind the server (tests/standin_fakes.py) answers at once, so these tests
exercise the real client, server, pricing, media, scoring, files and training on a few turns
of the shipped LCIO-Bench file; tests/test_calibrate_real.py puts the real model behind it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.config import Settings
from backends.pricing import PriceTable
from backends.standin import StandinServer
from lab.calibrate.cli import main
from lab.calibrate.measure import plan
from lab.calibrate.sample import SourceFile, select
from policies.artifacts import APP_POLICY_PATH, BENCH_PATH
from policies.bench.dataset import load_bench
from tests.calibrate_support import (
    KEY,
    MODEL,
    acme_prices,
    provider_env,
    provider_server,
    read_jsonl,
)
from tests.standin_fakes import EchoBackend


@pytest.fixture(scope="module")
def echo() -> EchoBackend:
    return EchoBackend()


@pytest.fixture(scope="module")
def server(echo: EchoBackend) -> Iterator[StandinServer]:
    with provider_server(echo) as running:
        yield running


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-media")  # rendered once for the module's runs


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, server: StandinServer, tmp_path: Path) -> Path:
    prices = acme_prices(tmp_path)
    provider_env(monkeypatch, server, prices)
    return prices


def args(tmp_path: Path, media: Path, *extra: str) -> list[str]:
    return ["--dataset", str(BENCH_PATH), "--out", str(tmp_path / "cal.jsonl"),
            "--policy-out", str(tmp_path / "policy.json"), "--media-dir", str(media),
            "--no-progress", "--sides", "cloud", *extra]


def test_sample_is_stratified_seeded_and_nested() -> None:
    turns = list(SourceFile.read(BENCH_PATH).turns.values())
    tasks = {t["task"] for t in turns}
    task_of = {t["key"]: t["task"] for t in turns}
    small, large = select(turns, 0.2, 0), select(turns, 0.4, 0)
    assert {task_of[k] for k in small} == tasks  # every task is in the sample
    for task in tasks:  # ceil(share x n) of each task
        n = sum(t["task"] == task for t in turns)
        assert sum(task_of[k] == task for k in small) == -(-n * 2 // 10)
    assert set(small) < set(large)  # a larger share measures only new turns
    assert select(turns, 0.2, 1) != small and select(turns, 0.2, 0) == small
    first = select(turns, 0.2, 0, limit=len(tasks))
    assert len(first) == len(tasks) and {task_of[k] for k in first} == tasks  # round robin


def test_refuses_without_a_configured_cloud(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LCIO_OPENAI_API_KEY", "LCIO_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--dry-run", "--sides", "cloud"]) == 2
    assert "No cloud is configured" in capsys.readouterr().out


def test_end_to_end_measures_writes_and_trains(env: Path, tmp_path: Path, media: Path,
                                               server: StandinServer,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import policies.artifacts

    shipped = APP_POLICY_PATH.read_bytes()
    app_policy = tmp_path / "app-policy.json"  # what --install replaces, here a copy
    monkeypatch.setattr(policies.artifacts, "APP_POLICY_PATH", app_policy)
    assert main(args(tmp_path, media, "--limit", "8", "--max-new-tokens", "12", "--install")) == 0
    shown = capsys.readouterr().out
    assert "Expected spend: $" in shown and f"{MODEL} at its own row" in shown
    assert "arithmetic" in shown and " -> " in shown  # the per-task table

    source = SourceFile.read(BENCH_PATH)
    rows = read_jsonl(tmp_path / "cal.measurements.jsonl")
    header, measured = rows[0], [r for r in rows[1:] if r["type"] == "outcome"]
    assert header["cloud"] == {"kind": "openai-compatible", "model": MODEL,
                               "endpoint": f"127.0.0.1:{server.port}"}
    planned = sum(len(source.cloud_actions(k)) for k in select(list(source.turns.values()),
                                                                 0.2, 0, 8))
    assert len(measured) == planned and len({r["key"] for r in measured}) == planned
    prices = PriceTable.load(env)
    for row in measured:  # billed by the provider's table from the usage it reported
        assert row["model"] == MODEL and row["error"] is None and row["location"] == "cloud"
        assert row["completion_tokens"] <= 12
        assert row["measured"]["cost_usd"] == pytest.approx(prices.cost(
            MODEL, {"prompt_tokens": row["prompt_tokens"],
                    "completion_tokens": row["completion_tokens"]}))

    bench = load_bench(tmp_path / "cal.jsonl")
    assert bench.complete() and len(bench.turns) == len(source.turns)
    out = read_jsonl(tmp_path / "cal.jsonl")
    assert out[0]["models"]["cloud"]["model"] == MODEL
    assert out[0]["calibration"]["measured_turns"] == 8
    by_key = {r["key"]: r for r in out[1:] if r["type"] == "outcome"}
    for key, row in source.outcomes.items():
        if row["location"] == "local":
            assert by_key[key] == row  # local outcomes reused as measured
    marks = [r["calibration"] for r in by_key.values() if r["location"] == "cloud"]
    assert marks.count("measured") == planned and "rescaled" in marks
    factors = out[0]["calibration"]["factors"]
    rescaled = next(r for r in by_key.values() if r.get("calibration") == "rescaled"
                    and r["dialogue"] and source.turns[f"{r['dialogue']}/{r['turn']}"]["task"] in factors)
    f = factors[source.turns[f"{rescaled['dialogue']}/{rescaled['turn']}"]["task"]]
    assert rescaled["measured"]["cost_usd"] == pytest.approx(
        source.outcomes[rescaled["key"]]["measured"]["cost_usd"] * f["usd_new"] / f["usd_source"])

    policy = (tmp_path / "policy.json").read_text()
    import json

    doc = json.loads(policy)
    assert doc["calibrated_for"]["model"] == MODEL
    assert doc["calibrated_for"]["endpoint"] == f"127.0.0.1:{server.port}"
    assert doc["trained_on"]["dialogues"] == len(bench.dialogues)
    assert KEY not in policy and KEY not in (tmp_path / "cal.jsonl").read_text()
    assert app_policy.read_text() == policy and APP_POLICY_PATH.read_bytes() == shipped


def test_dollar_cap_stops_the_run_and_a_rerun_goes_on(env: Path, tmp_path: Path, media: Path,
                                                     echo: EchoBackend,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    base = args(tmp_path, media, "--limit", "6", "--max-new-tokens", "8", "--no-train")
    asked = len(echo.requests)
    assert main([*base, "--max-usd", "0"]) == 3  # not even one request's worst case fits
    assert len(echo.requests) == asked and "Stopped at the dollar cap" in capsys.readouterr().out

    # room for the first two answers' worst cases, not for a later, larger one's
    source = SourceFile.read(BENCH_PATH)
    jobs = plan(source, select(list(source.turns.values()), 0.2, 0, 6), media, 8, MODEL,
                PriceTable.load(env), Settings())
    cap = jobs[0].cost.worst_usd + jobs[1].cost.worst_usd
    assert max(j.cost.worst_usd for j in jobs[2:]) > cap
    assert main([*base, "--max-usd", repr(cap)]) == 3
    shown = capsys.readouterr().out
    assert "Stopped at the dollar cap" in shown and "Rerun with a larger --max-usd" in shown
    rows = read_jsonl(tmp_path / "cal.measurements.jsonl")[1:]
    spent = sum(r["measured"]["cost_usd"] for r in rows)
    assert 2 <= len(rows) < len(jobs) and spent <= cap
    assert [r["key"] for r in rows] == [j.key for j in jobs[: len(rows)]]  # in sample order
    first = {r["key"] for r in rows}
    assert (tmp_path / "cal.jsonl").exists()  # what was measured is used already

    assert main([*base, "--max-usd", "5"]) == 0
    shown = capsys.readouterr().out
    assert f"{len(first)} already there" in shown
    rows = read_jsonl(tmp_path / "cal.measurements.jsonl")[1:]
    keys = [r["key"] for r in rows]
    assert len(keys) == len(set(keys)) > len(first) and first < set(keys)  # resumed, no repeats


def test_resume_refuses_other_conditions(env: Path, tmp_path: Path, media: Path) -> None:
    base = args(tmp_path, media, "--limit", "1", "--no-train")
    assert main([*base, "--max-new-tokens", "8"]) == 0
    with pytest.raises(SystemExit, match="max_new_tokens"):
        main([*base, "--max-new-tokens", "9"])


def test_a_refused_key_stops_after_a_few_requests(monkeypatch: pytest.MonkeyPatch,
                                                  server: StandinServer, tmp_path: Path,
                                                  media: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    provider_env(monkeypatch, server, acme_prices(tmp_path), key="sk-wrong-key-000000")
    assert main(args(tmp_path, media, "--limit", "8", "--no-train")) == 3
    shown = capsys.readouterr().out
    assert "3 failed" in shown and "Stopped: the cloud failed" in shown
    assert "sk-wrong-key-000000" not in shown
    assert len(read_jsonl(tmp_path / "cal.measurements.jsonl")) == 1  # the header only


def test_an_unreachable_endpoint_without_a_model_name_is_said_plainly(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from backends.standin import free_port

    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")  # nobody there
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("LCIO_CLOUD_MAX_RETRIES", "0")
    monkeypatch.delenv("LCIO_CLOUD_MODEL", raising=False)  # so the endpoint must be asked
    assert main(["--dry-run"]) == 2
    shown = capsys.readouterr().out
    assert shown.startswith("The cloud cannot be used:") and KEY not in shown
