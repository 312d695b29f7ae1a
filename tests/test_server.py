"""The stand-in server speaks the OpenAI protocol over real HTTP: SSE chunks, usage, faults.

Most tests use a fake generator (tests/standin_fakes.py) so they check the protocol, not a
model; the last ones serve a real model (the tiny nf4 fixture, and the real default model
through the command line).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from backends.config import Settings
from backends.errors import CloudUnavailable
from backends.server import Fault, create_app
from backends.standin import StandinServer, probe
from tests.standin_fakes import EchoBackend

KEY = "sk-test-secret-do-not-leak-123456"


@pytest.fixture(scope="module")
def echo() -> EchoBackend:
    return EchoBackend()


@pytest.fixture(scope="module")
def server(echo: EchoBackend) -> Iterator[StandinServer]:
    with StandinServer(Settings(standin_delay_s=0.0), backend=echo) as running:
        yield running


@pytest.fixture
def client(server: StandinServer) -> openai.OpenAI:
    return openai.OpenAI(api_key=KEY, base_url=server.base_url, max_retries=0, timeout=10)


def sse_events(response: httpx.Response) -> list[str]:
    """The `data:` payloads of an SSE body, checking every event is `data: ...\\n\\n`."""
    body = response.text
    assert body.endswith("\n\n")
    events = body.strip("\n").split("\n\n")
    assert all(event.startswith("data: ") for event in events), events
    return [event[len("data: "):] for event in events]


def post(server: StandinServer, body: dict, **headers: str) -> httpx.Response:
    return httpx.post(f"{server.base_url}/chat/completions", json=body, headers=headers,
                      timeout=10)


def test_models_lists_the_standin(client: openai.OpenAI) -> None:
    models = client.models.list().data
    assert [m.id for m in models] == ["lcio-standin"]


def test_raw_sse_stream_has_the_openai_shape(server: StandinServer) -> None:
    response = post(server, {"model": "lcio-standin", "stream": True,
                             "stream_options": {"include_usage": True},
                             "messages": [{"role": "user", "content": "one two three"}]})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert {c["model"] for c in chunks} == {"lcio-standin"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "echo: one two three "
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == 4
    assert usage_chunk["usage"]["total_tokens"] == (
        usage_chunk["usage"]["prompt_tokens"] + usage_chunk["usage"]["completion_tokens"])
    assert all(c["usage"] is None for c in chunks[:-1])


def test_stream_without_include_usage_sends_no_usage_chunk(server: StandinServer) -> None:
    events = sse_events(post(server, {"model": "lcio-standin", "stream": True,
                                      "messages": [{"role": "user", "content": "hi"}]}))
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["choices"] for c in chunks) and all("usage" not in c for c in chunks)


def test_non_streaming_answer_with_usage(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="lcio-standin", messages=[{"role": "system", "content": "be brief"},
                                        {"role": "user", "content": "hello world"}])
    assert reply.choices[0].message.content == "echo: hello world "
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "lcio-standin"
    assert reply.usage is not None and reply.usage.completion_tokens == 3
    assert reply.usage.prompt_tokens == (2 + 3) + (2 + 3)


def test_max_tokens_reaches_the_generator(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="lcio-standin", max_tokens=2, messages=[{"role": "user", "content": "a b c d"}])
    assert reply.choices[0].message.content == "echo: a "


def test_unknown_model_is_404_and_bad_body_is_400(client: openai.OpenAI,
                                                  server: StandinServer) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    response = post(server, {"model": "lcio-standin", "messages": "nope"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_remote_image_urls_are_refused(server: StandinServer) -> None:
    body = {"model": "lcio-standin", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}
    response = post(server, body)
    assert response.status_code == 400 and "data: URIs" in response.json()["error"]["message"]


@pytest.mark.parametrize("fault,error", [("429", openai.RateLimitError),
                                         ("500", openai.InternalServerError),
                                         ("503", openai.InternalServerError)])
def test_header_faults_return_the_status(client: openai.OpenAI, fault: str, error: type) -> None:
    with pytest.raises(error):
        client.chat.completions.create(model="lcio-standin", extra_headers={"X-LCIO-Fault": fault},
                                       messages=[{"role": "user", "content": "x"}])


def test_drop_fault_ends_the_stream_without_finish(server: StandinServer) -> None:
    events = sse_events(post(server, {"model": "lcio-standin", "stream": True,
                                      "messages": [{"role": "user", "content": "a b c d e"}]},
                             **{"X-LCIO-Fault": "drop:2"}))
    assert "[DONE]" not in events
    chunks = [json.loads(e) for e in events]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, None, None]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "echo: a "


def test_admin_fault_applies_to_the_next_requests_only(client: openai.OpenAI,
                                                       server: StandinServer) -> None:
    assert httpx.post(f"{server.root_url}/admin/fault",
                      json={"fault": "429", "times": 2}).status_code == 200
    for _ in range(2):
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="lcio-standin",
                                           messages=[{"role": "user", "content": "x"}])
    assert client.chat.completions.create(
        model="lcio-standin", messages=[{"role": "user", "content": "x"}]).choices
    assert httpx.post(f"{server.root_url}/admin/fault", json={"fault": "bogus"}).status_code == 400


def test_delay_header_delays_the_answer(client: openai.OpenAI) -> None:
    started = time.perf_counter()
    client.chat.completions.create(model="lcio-standin", extra_headers={"X-LCIO-Delay": "0.4"},
                                   messages=[{"role": "user", "content": "x"}])
    assert time.perf_counter() - started >= 0.4


def test_fault_spec_parsing() -> None:
    assert Fault.parse("429") == Fault(status=429)
    assert Fault.parse("drop") == Fault(drop_after=1)
    assert Fault.parse("delay:1.5, drop:3") == Fault(drop_after=3, delay_s=1.5)
    assert not Fault.parse("").active and Fault.parse("nousage").active
    with pytest.raises(ValueError):
        Fault.parse("explode")


def test_generation_is_serialised_while_http_stays_concurrent() -> None:
    slow = EchoBackend(word_delay_s=0.05)
    with StandinServer(Settings(standin_delay_s=0.0), backend=slow) as running:
        client = openai.OpenAI(api_key=KEY, base_url=running.base_url, max_retries=0, timeout=20)
        results: list[str] = []

        def ask(i: int) -> None:
            reply = client.chat.completions.create(
                model="lcio-standin", messages=[{"role": "user", "content": f"w{i} x y z"}])
            results.append(reply.choices[0].message.content or "")

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(0.15)
        started = time.perf_counter()
        assert probe(running.root_url) is not None  # HTTP answers while the model is busy
        health_s = time.perf_counter() - started
        for thread in threads:
            thread.join()
        assert sorted(results) == [f"echo: w{i} x y z " for i in range(3)]
        assert slow.max_active == 1
        assert health_s < 0.25 * 3 * 5  # not queued behind the three generations


def test_api_key_is_required_when_configured() -> None:
    with StandinServer(Settings(standin_delay_s=0.0), backend=EchoBackend(),
                       api_key="right-key") as running:
        wrong = openai.OpenAI(api_key="wrong-key", base_url=running.base_url, max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.models.list()
        right = openai.OpenAI(api_key="right-key", base_url=running.base_url, max_retries=0)
        assert right.models.list().data


def test_client_disconnect_stops_generation() -> None:
    slow = EchoBackend(word_delay_s=0.05)
    with StandinServer(Settings(standin_delay_s=0.0), backend=slow) as running:
        client = openai.OpenAI(api_key=KEY, base_url=running.base_url, max_retries=0)
        stream = client.chat.completions.create(
            model="lcio-standin", stream=True,
            messages=[{"role": "user", "content": " ".join(["w"] * 200)}])
        next(iter(stream))
        stream.close()
        deadline = time.monotonic() + 5
        while slow.active and time.monotonic() < deadline:
            time.sleep(0.05)
        assert slow.active == 0
        assert slow.requests[-1].stop.is_set()


# -- real models ------------------------------------------------------------------------------


def test_tiny_real_model_streams_through_the_server(tiny_backend) -> None:
    app_settings = Settings(standin_delay_s=0.0)
    with StandinServer(app_settings, backend=tiny_backend) as running:
        client = openai.OpenAI(api_key=KEY, base_url=running.base_url, max_retries=0, timeout=30)
        stream = client.chat.completions.create(
            model="lcio-standin", stream=True, stream_options={"include_usage": True},
            max_tokens=6, messages=[{"role": "user", "content": "the cat is hot"}])
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens == 6 and usage.prompt_tokens > 4
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"


def test_create_app_accepts_a_factory_and_loads_it_at_start() -> None:
    calls: list[int] = []

    def factory() -> EchoBackend:
        calls.append(1)
        return EchoBackend()

    with StandinServer(Settings(standin_delay_s=0.0), backend=factory) as running:
        assert calls == [1]  # preloaded: ready means loaded
        assert probe(running.root_url)["ready"] is True
    assert create_app(EchoBackend()).title.startswith("LCIO")


def test_ensure_standin_never_adopts_a_server_it_did_not_start(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9 item 13: whatever answered on the configured port was adopted, even a stand-in
    left over from an earlier run. Now the app starts its own on a free port."""
    from backends import server as server_module
    from backends.standin import ensure_standin, stop_standin

    monkeypatch.setattr(server_module, "default_backend", lambda settings: EchoBackend())
    with StandinServer(Settings(standin_delay_s=0.0), backend=EchoBackend()) as foreign:
        settings = Settings(standin_port=foreign.port, standin_delay_s=0.0)
        try:
            url = ensure_standin(settings)
            assert url != foreign.base_url
            health = probe(url.removesuffix("/v1"))
            assert health is not None and health["instance"] != probe(foreign.root_url)["instance"]
            assert ensure_standin(settings) == url  # started once, then reused
        finally:
            stop_standin()
        assert foreign.alive  # left alone


def test_start_refuses_a_foreign_server_answering_on_its_port() -> None:
    """If another program answers on the port (it won a race for it), start() must not
    report that program as its own server."""
    with StandinServer(Settings(standin_delay_s=0.0), backend=EchoBackend()) as foreign:
        mine = StandinServer(Settings(standin_delay_s=0.0), mode="subprocess", port=foreign.port,
                             startup_timeout_s=120)
        with pytest.raises(CloudUnavailable, match="Another program|failed to start"):
            mine.start()
        assert not mine.alive and foreign.alive


@pytest.mark.slow
def test_cli_subprocess_serves_the_configured_model_in_full_precision(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`python -m backends.server --model X` (started by StandinServer) serves X in bf16, with
    the configured number of torch threads.

    (The default model, Qwen from its parts, is tested in tests/test_standin_model.py.)
    """
    from backends.models import embedded_gguf_path

    monkeypatch.setenv("LCIO_STANDIN_THREADS", "1")

    settings = Settings(standin_model=str(embedded_gguf_path()))
    with StandinServer(settings, mode="subprocess", port=0, delay_s=0.0,
                       startup_timeout_s=300) as running:
        assert running.port > 0 and running._process is not None
        health = probe(running.root_url)
        assert health is not None and "bf16" in health["root"] and "SmolLM2" in health["root"]
        assert health["threads"] == 1 and health["device"] == "cpu"
        client = openai.OpenAI(api_key="standin", base_url=running.base_url, max_retries=0,
                               timeout=120)
        reply = client.chat.completions.create(
            model="lcio-standin", max_tokens=24,
            messages=[{"role": "user", "content": "What is the capital of France?"}])
        assert "paris" in (reply.choices[0].message.content or "").lower()
        assert reply.usage is not None and reply.usage.prompt_tokens > 5
        # It generates at a lower CPU priority than the app, every thread of it (torch's too).
        want = min(19, os.getpriority(os.PRIO_PROCESS, 0) + settings.standin_nice)
        tasks = Path(f"/proc/{running._process.pid}/task")
        nices = {os.getpriority(os.PRIO_PROCESS, int(t.name)) for t in tasks.iterdir()}
        assert len(list(tasks.iterdir())) > 1 and nices == {want}
        process = running._process
    assert process.poll() is not None  # stopped with the context
