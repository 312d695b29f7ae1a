"""The load script (`python -m app.tools.loadtest`): a small smoke run against a served page, and its
isolation check catching cross-talk in a log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.store import SessionStore
from app.switches import thread_switches
from app.tools.loadtest import (
    DecisionTime,
    Reply,
    decision_times,
    describe_decisions,
    log_problems,
    marker,
    reply_problems,
)
from tests.browser_support import ROOT


def test_isolation_check_finds_cross_talk_in_the_log(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "log.sqlite")
    run = "abc123"
    own = store.log_turn({"session_id": "A", "turn_index": 0, "prompt": f"{marker(run, 1, 1)} hi",
                          "answer": "fine"})
    store.log_turn({"session_id": "A", "turn_index": 1, "prompt": f"{marker(run, 2, 1)} hi",
                    "answer": f"leaked {marker(run, 1, 1)}"})
    replies = [Reply(1, 1, "", 1.0, "fine", {"turn": 1, "turn_id": own, "status": "answered"}),
               Reply(2, 1, "", 1.0, "x", {"turn": 1, "turn_id": own, "status": "answered"})]
    problems = log_problems(tmp_path / "log.sqlite", run, replies)
    assert any("holds prompts of sessions [1, 2]" in p for p in problems)
    assert any("answer holds session 1's marker" in p for p in problems)
    assert any("session 2 turn 1: its turn_id" in p for p in problems)
    clean = [Reply(1, 1, "", 1.0, "fine", {"turn": 1, "turn_id": own, "status": "answered"})]
    assert reply_problems(clean, run) == []
    mixed = [Reply(1, 1, "", 1.0, f"x {marker(run, 2, 1)}", {"turn": 2})]
    assert len(reply_problems(mixed, run)) == 2


def test_slow_decisions_are_told_apart_by_their_context_switches(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "log.sqlite")
    run = "r1"
    for i, (wall, switches) in enumerate([(0.3, [0, 0]), (5.0, [1, 0]), (4.0, [0, 2]), (0.4, [0, 1])]):
        store.log_turn({"session_id": "A", "turn_index": i, "prompt": f"{marker(run, 1, i)} hi",
                        "decision": {"decide_ms": wall, "decide_cpu_ms": 0.3, "decide_switches": switches}})
    times = decision_times(tmp_path / "log.sqlite", run)
    assert sorted(t.wall_ms for t in times) == [0.3, 0.4, 4.0, 5.0]
    line = describe_decisions(times)
    assert "over 2 ms: 2 (waited: 1, pre-empted by the OS and never waiting: 1)" in line
    assert "over 2 ms: 0" in describe_decisions([DecisionTime(0.5, 0.5)])


def test_a_sleeping_thread_counts_a_voluntary_switch() -> None:
    import time

    before = thread_switches()
    time.sleep(0.01)
    after = thread_switches()
    if sys.platform.startswith("linux"):
        assert after[0] > before[0] and after[1] >= before[1]
    else:
        assert after == before == (0, 0)


@pytest.mark.slow
def test_load_script_smoke_against_a_served_page(tiny_backend, tmp_path: Path) -> None:
    """N=2, T=1 through the real `/chat` API of the real page and engine (tiny local model,
    the stand-in over HTTP as the cloud)."""
    from app.engine import Engine
    from app.ui import ChatUI
    from backends.cloud import CloudBackend
    from backends.config import Settings
    from backends.standin import StandinServer
    from policies.base import ActionSpace
    from policies.bench_policy import BenchCloudOnly
    from tests.standin_fakes import EchoBackend

    log = tmp_path / "log.sqlite"
    policy = BenchCloudOnly(ActionSpace(slots=3, local_subsets=True))
    with StandinServer(Settings(standin_delay_s=0.0), backend=EchoBackend()) as server:
        cloud = CloudBackend(Settings(openai_api_key="sk-load-0123456789",
                                      openai_base_url=server.base_url, cloud_model="lcio-standin"))
        backends = {"cloud": cloud, "local": tiny_backend}
        engine = Engine(SessionStore(log), lambda name: policy, backends.__getitem__,
                        settings=tiny_backend.settings, price_usd=lambda *tokens: 0.0)
        demo = ChatUI(engine, {}, ["cloud-only"]).build()
        demo.queue().launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
        try:
            result = subprocess.run(
                [sys.executable, "-m", "app.tools.loadtest", "--url", demo.local_url, "--sessions", "2",
                 "--turns", "1", "--log", str(log)],
                cwd=ROOT, capture_output=True, text=True, timeout=300)
        finally:
            demo.close()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "answered 2/2" in result.stdout and "cloud 2" in result.stdout
    assert "isolation (replies and log" in result.stdout and ": OK" in result.stdout
    assert "p50" in result.stdout and "p95" in result.stdout
