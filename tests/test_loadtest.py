"""The load script (`python -m app.loadtest`): a small smoke run against a served page, and its
isolation check catching cross-talk in a log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.loadtest import Reply, log_problems, marker, reply_problems
from app.store import SessionStore
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
                [sys.executable, "-m", "app.loadtest", "--url", demo.local_url, "--sessions", "2",
                 "--turns", "1", "--log", str(log)],
                cwd=ROOT, capture_output=True, text=True, timeout=300)
        finally:
            demo.close()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "answered 2/2" in result.stdout and "cloud 2" in result.stdout
    assert "isolation (replies and log" in result.stdout and ": OK" in result.stdout
    assert "p50" in result.stdout and "p95" in result.stdout
