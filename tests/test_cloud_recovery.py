"""Issue 9 items 14-15 over real HTTP: the cloud down at start and recovering, a dead stand-in
restarted, the circuit breaker, and what a stream cut off midway costs.

The cloud is the project's stand-in server reached through the real `openai` client; the
turns go through the real engine with the tiny real local model as the fallback.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine import Engine, TurnRecord
from app.session import Session
from app.store import SessionStore
from backends.cloud import CloudBackend
from backends.config import Settings
from backends.errors import CloudRefused, CloudStreamDropped, CloudUnavailable
from backends.local import LocalBackend
from backends.standin import StandinServer, free_port
from backends.types import ChatRequest, Completion, Message
from policies.base import ActionSpace
from policies.bench_policy import BenchCloudOnly
from tests.standin_fakes import EchoBackend

KEY = "sk-test-recovery-0123456789"


@pytest.fixture(autouse=True)
def no_real_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LCIO_OPENAI_API_KEY",
                 "LCIO_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def ask(text: str) -> ChatRequest:
    return ChatRequest([Message("user", text)], max_new_tokens=16)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    try:
        result: Any = fn()
    except Exception as exc:  # noqa: BLE001 (returned to the test)
        result = exc
    return time.perf_counter() - started, result


def engine_with(cloud: CloudBackend, tiny_backend: LocalBackend, tmp_path: Path) -> Engine:
    policy = BenchCloudOnly(ActionSpace(slots=3, local_subsets=True))
    backends = {"cloud": cloud, "local": tiny_backend}
    return Engine(SessionStore(tmp_path / "log.sqlite"), lambda name: policy, backends.__getitem__,
                  settings=tiny_backend.settings, price_usd=lambda *tokens: 0.0)


def turn(engine: Engine, session: Session, text: str) -> tuple[float, TurnRecord]:
    started = time.perf_counter()
    record = list(engine.run(session, text))[-1].record
    return time.perf_counter() - started, record


def test_cloud_down_at_start_falls_back_fast_and_is_used_once_it_is_back(
        tiny_backend: LocalBackend, tmp_path: Path) -> None:
    """The endpoint names no model and is down at the first turn; it was then cached with an
    empty model name ("no model ''", HTTP 404) forever, and each turn paid the failure."""
    port = free_port()
    settings = Settings(openai_api_key=KEY, openai_base_url=f"http://127.0.0.1:{port}/v1",
                        cloud_retry_s=2.0, cloud_timeout_s=20.0, standin_delay_s=0.0)
    assert settings.cloud_model == ""  # asked of the endpoint at first use
    cloud = CloudBackend(settings)
    engine = engine_with(cloud, tiny_backend, tmp_path)
    session = Session()

    _, first = turn(engine, session, "hello there")
    assert first.location == "local" and first.status == "answered"
    assert "could not be reached" in first.fallback
    seconds, second = turn(engine, session, "still there")
    assert second.location == "local" and "unreachable since" in second.fallback
    assert "retrying every 2 s" in second.fallback
    cloud_s, _ = timed(lambda: cloud.generate(ask("x")))
    assert cloud_s < 0.2  # the breaker answers at once: no connection attempt, no timeout

    with StandinServer(Settings(standin_delay_s=0.0), port=port, backend=EchoBackend()):
        time.sleep(2.2)  # the retry interval
        _, back = turn(engine, session, "you are back")
        assert back.location == "cloud" and back.status == "answered", back.fallback
        assert back.answer.startswith("echo: you are back")
        assert cloud.model == "lcio-standin"  # resolved now that the endpoint answered
    assert not cloud.breaker.is_open


def test_one_probe_per_interval_while_the_cloud_stays_down() -> None:
    settings = Settings(openai_api_key=KEY, openai_base_url=f"http://127.0.0.1:{free_port()}/v1",
                        cloud_model="m", cloud_retry_s=0.5, cloud_max_retries=0)
    cloud = CloudBackend(settings)
    probes: list[float] = []
    real_probe = cloud._probe

    def counted() -> None:
        probes.append(time.monotonic())
        real_probe()

    cloud._probe = counted  # type: ignore[method-assign]
    started = time.monotonic()
    outcomes = []
    while time.monotonic() - started < 1.6:
        outcomes.append(timed(lambda: cloud.generate(ask("x"))))
        time.sleep(0.02)
    assert all(isinstance(r, CloudUnavailable) for _, r in outcomes)
    assert len(outcomes) > 20 and 2 <= len(probes) <= 4  # ~1.6 s / 0.5 s, not one per turn
    assert max(s for s, _ in outcomes[1:]) < 1.0


@pytest.mark.slow
def test_a_dead_standin_child_is_started_again(tiny_model_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's own stand-in child dies (OOM, kill): it was never restarted, and every
    later cloud turn spent seconds failing."""
    from backends import standin

    monkeypatch.setenv("LCIO_STANDIN_MODEL", str(tiny_model_dir))  # the child's model
    settings = Settings(standin_port=free_port(), standin_delay_s=0.0, cloud_retry_s=1.0,
                        cloud_timeout_s=30.0)
    assert settings.uses_standin
    cloud = CloudBackend(settings)
    try:
        assert cloud.generate(ask("the cat")).backend == "cloud"
        first = standin._SHARED
        assert first is not None and first._process is not None
        os.kill(first._process.pid, signal.SIGKILL)
        first._process.wait()

        seconds, result = timed(lambda: cloud.generate(ask("the dog")))
        assert isinstance(result, CloudUnavailable) and seconds < 3.0
        deadline = time.monotonic() + 120
        while True:
            seconds, result = timed(lambda: cloud.generate(ask("the dog")))
            if isinstance(result, Completion) or time.monotonic() > deadline:
                break
            assert isinstance(result, CloudUnavailable) and seconds < 3.0
            time.sleep(0.5)
        assert isinstance(result, Completion), result
        second = standin._SHARED
        assert second is not None and second is not first and second.alive
    finally:
        standin.stop_standin()


# -- item 15: what a broken stream costs -------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[StandinServer]:
    with StandinServer(Settings(standin_delay_s=0.0), backend=EchoBackend()) as running:
        yield running


def backend_for(server: StandinServer, fault: str | None = None) -> CloudBackend:
    settings = Settings(openai_api_key=KEY, openai_base_url=server.base_url,
                        cloud_model="lcio-standin", cloud_max_retries=0)
    return CloudBackend(settings, extra_headers={"X-LCIO-Fault": fault} if fault else None)


def test_a_stream_cut_off_midway_carries_what_it_already_cost(server: StandinServer) -> None:
    words = " ".join(f"w{i}" for i in range(12))
    with pytest.raises(CloudStreamDropped) as caught:
        backend_for(server, "drop:4").generate(ask(words))
    partial = caught.value.partial_cost
    assert partial is not None and partial.usage_estimated
    assert partial.text and partial.completion_tokens > 0 and partial.prompt_tokens > 0
    # Booked as a bound of what was streamed: never more than the same bound of the whole
    # answer (both are capped at max_tokens, which no endpoint bills past).
    full = backend_for(server, "nousage").generate(ask(words))
    assert 0 < partial.cost_usd <= full.cost_usd
    assert partial.completion_tokens <= full.completion_tokens <= 16


def test_the_engine_charges_the_dollars_of_a_broken_stream(
        server: StandinServer, tiny_backend: LocalBackend, tmp_path: Path) -> None:
    engine = engine_with(backend_for(server, "drop:3"), tiny_backend, tmp_path)
    session = Session()
    _, record = turn(engine, session, " ".join(f"w{i}" for i in range(12)))
    assert record.location == "local" and "cut off" in record.fallback
    assert session.ledger.spent.usd > 0  # the streamed part was paid for
    assert record.actual is not None and record.actual.usd == pytest.approx(session.ledger.spent.usd)
    assert engine.store.turn(record.turn_id)["cost_usd"] == pytest.approx(session.ledger.spent.usd)


def test_estimated_usage_is_marked_and_logged(server: StandinServer, tiny_backend: LocalBackend,
                                              tmp_path: Path) -> None:
    assert not backend_for(server).generate(ask("counted")).usage_estimated
    estimated = backend_for(server, "nousage").generate(ask("not counted"))
    assert estimated.usage_estimated and estimated.cost_usd > 0
    engine = engine_with(backend_for(server, "nousage"), tiny_backend, tmp_path)
    _, record = turn(engine, Session(), "log me")
    assert record.location == "cloud"
    assert engine.store.turn(record.turn_id)["usage_estimated"] == 1


def test_an_answer_the_endpoint_gives_does_not_open_the_breaker(server: StandinServer) -> None:
    for fault in ("500", "429"):
        backend = backend_for(server, fault)
        with pytest.raises(CloudUnavailable):
            backend.generate(ask("x"))
        assert not backend.breaker.is_open
    refused = CloudBackend(Settings(openai_api_key=KEY, openai_base_url=server.base_url,
                                    cloud_model="no-such-model", cloud_max_retries=0))
    with pytest.raises(CloudRefused):
        refused.generate(ask("x"))
    assert not refused.breaker.is_open
