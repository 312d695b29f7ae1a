"""A hung cloud cannot overspend the waiting-time budget, and Stop works before its first byte.

The cloud is the real `CloudBackend` with the real `openai` client, talking to a loopback
socket that accepts the request and never answers; the local backend is a fake.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from app.engine import Engine
from app.session import BudgetLedger, Cost, Session
from app.store import SessionStore
from backends.cloud import CloudBackend
from backends.config import Settings
from tests.test_app_engine import FakeBackend, RulePolicy

WAIT_BUDGET_S = 20.0


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """Accepts connections on 127.0.0.1, reads what is sent, never replies."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    done = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    done.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def _engine(tmp_path: Path, base_url: str) -> tuple[Engine, FakeBackend]:
    settings = Settings(cloud_timeout_s=60.0, cloud_max_retries=2)
    cloud = CloudBackend(settings, client=openai.OpenAI(base_url=base_url, api_key="test"),
                         model="hung-model")
    local = FakeBackend("local", ["local ", "answer"], energy=1.0)
    policy = RulePolicy()
    engine = Engine(SessionStore(tmp_path / "log.sqlite"), lambda name: policy,
                    {"local": local, "cloud": cloud}.__getitem__, settings=settings,
                    price_usd=lambda *tokens: 0.001)
    return engine, local


def test_a_hung_cloud_ends_within_the_waiting_budget(tmp_path: Path, silent_endpoint: str) -> None:
    engine, _ = _engine(tmp_path, silent_endpoint)
    session = Session(ledger=BudgetLedger(limit=Cost(usd=1.0, latency_s=WAIT_BUDGET_S, energy_j=1e6)))
    turn = engine.run(session, "hello?", max_new_tokens=16)
    assert next(turn).record.location == "cloud", "the guard must allow the cloud for this test"
    started = time.monotonic()  # the answer's time, which the waiting budget pays
    events = list(turn)
    took = time.monotonic() - started
    record = events[-1].record
    assert took <= WAIT_BUDGET_S + 1.0, f"the turn waited {took:.1f} s on a {WAIT_BUDGET_S:g} s budget"
    assert not session.ledger.overspent(), session.ledger.spent
    assert session.ledger.remaining.latency_s >= 0.0
    assert record.status in ("failed", "cancelled", "answered")


def test_stop_before_the_first_byte_ends_the_turn(tmp_path: Path, silent_endpoint: str) -> None:
    engine, _ = _engine(tmp_path, silent_endpoint)
    session = Session(ledger=BudgetLedger(limit=Cost(usd=1.0, latency_s=600.0, energy_j=1e6)))
    turn = engine.run(session, "hello?", max_new_tokens=16)
    first = next(turn)
    assert first.kind == "decision" and first.record.location == "cloud"
    threading.Timer(0.5, engine.stop, args=(session.id,)).start()
    started = time.monotonic()
    events = list(turn)
    took = time.monotonic() - started
    assert took < 3.0, f"Stop took {took:.1f} s to end a turn the cloud never answered"
    assert events[-1].record.status == "cancelled"
    assert session.ledger.spent.latency_s < 3.0 and not session.ledger.overspent()
