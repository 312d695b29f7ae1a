"""The cloud backend through the real `openai` client, over real HTTP, against the stand-in.

A fake generator behind the server (tests/standin_fakes.py) makes answers predictable, so
these tests check what the backend sends, what it measures and how it names each failure.
The last tests put real models and real perception behind the server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backends import units
from backends.base import BACKENDS
from backends.cloud import CloudBackend, map_openai_error, scrub
from backends.config import Settings
from backends.errors import (
    CloudRateLimited,
    CloudRefused,
    CloudStreamDropped,
    CloudTimeout,
    CloudUnavailable,
    ModalityRefused,
    UnreadableAttachment,
)
from backends.pricing import PriceTable
from backends.server import AUDIO_TOKENS_PER_S, IMAGE_TOKENS
from backends.standin import StandinServer, free_port
from backends.types import Attachment, ChatRequest, Completion, Message
from tests.media import corrupt_file, sample_image, speech
from tests.standin_fakes import EchoBackend

KEY = "sk-test-secret-do-not-leak-0123456789"


@pytest.fixture(autouse=True)
def no_real_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LCIO_OPENAI_API_KEY",
                 "LCIO_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def echo() -> EchoBackend:
    return EchoBackend(word_delay_s=0.0)


@pytest.fixture(scope="module")
def server(echo: EchoBackend) -> Iterator[StandinServer]:
    with StandinServer(Settings(standin_delay_s=0.0), backend=echo) as running:
        yield running


def settings_for(server: StandinServer, **overrides: object) -> Settings:
    """Settings that point the backend at `server` as a configured endpoint, with a key."""
    values: dict[str, object] = {"openai_api_key": KEY, "openai_base_url": server.base_url,
                                     "cloud_max_retries": 0, "cloud_timeout_s": 5.0,
                                     "max_image_side": 128}
    values.update(overrides)
    return Settings(**values)


def ask(text: str, *attachments: Attachment, max_new_tokens: int = 64) -> ChatRequest:
    return ChatRequest([Message("user", text, tuple(attachments))], max_new_tokens=max_new_tokens)


def run(backend: CloudBackend, request: ChatRequest) -> tuple[list[str], Completion]:
    items = list(backend.stream(request))
    assert isinstance(items[-1], Completion)
    assert all(isinstance(item, str) for item in items[:-1])
    return items[:-1], items[-1]


def test_registered_by_name() -> None:
    assert BACKENDS["cloud"] is CloudBackend


def test_streams_text_then_a_completion_with_usage_and_cost(server: StandinServer) -> None:
    backend = CloudBackend(settings_for(server))
    deltas, completion = run(backend, ask("hello brave new world"))
    assert len(deltas) == 5 and "".join(deltas) == "echo: hello brave new world "
    assert completion.text == "".join(deltas)
    assert completion.backend == "cloud" and completion.model == "lcio-standin"
    assert completion.finish_reason == "stop"
    assert completion.completion_tokens == 5
    assert completion.prompt_tokens == 4 + 3  # what the server's usage chunk reported
    prices = PriceTable.load(Settings().price_table)
    assert completion.cost_usd == pytest.approx(prices.cost("lcio-standin", {
        "prompt_tokens": 7, "completion_tokens": 5}))
    assert completion.cost_usd > 0 and completion.energy_j == 0.0
    assert 0 < completion.ttft_s <= completion.latency_s


def test_network_delay_shows_in_ttft(server: StandinServer) -> None:
    backend = CloudBackend(settings_for(server), extra_headers={"X-LCIO-Delay": "0.3"})
    _, completion = run(backend, ask("x"))
    assert completion.ttft_s >= 0.3


def test_image_turn_sends_a_downscaled_data_uri(server: StandinServer, echo: EchoBackend,
                                                media_dir: Path) -> None:
    image = Attachment.from_path(sample_image("chelsea", media_dir))
    backend = CloudBackend(settings_for(server, max_image_side=128))
    sent = backend.to_openai_messages(ask("what is this", image).messages)
    part = sent[0]["content"][1]
    assert part["type"] == "image_url" and part["image_url"]["url"].startswith("data:image/png;")
    _, completion = run(backend, ask("what is this", image))
    # The server decoded the bytes it received into a real 128 x 85 image.
    assert completion.text == "echo: what is this image:128x85 "
    assert completion.prompt_tokens == (3 + 3) + IMAGE_TOKENS
    assert completion.attachments_used == (image.sha256,)
    assert echo.requests[-1].messages[-1].attachments[0].kind == "image"


def test_audio_turn_sends_16k_mono_wav(server: StandinServer, media_dir: Path) -> None:
    import av

    wav = speech("Please summarise this recording", media_dir, "summary.wav")
    mp3 = media_dir / "summary.mp3"
    with av.open(str(wav)) as src, av.open(str(mp3), "w") as dst:
        out = dst.add_stream("libmp3lame", rate=22050)
        for frame in src.decode(audio=0):
            frame.pts = None
            for packet in out.encode(frame):
                dst.mux(packet)
        for packet in out.encode(None):
            dst.mux(packet)
    backend = CloudBackend(settings_for(server))
    for path in (wav, mp3):
        attachment = Attachment.from_path(path)
        _, completion = run(backend, ask("listen", attachment))
        words = completion.text.split()
        assert words[:2] == ["echo:", "listen"]
        assert words[2].startswith("audio:16000hz:1ch:"), words
        seconds = float(words[2].rsplit(":", 1)[1].rstrip("s"))
        assert seconds > 1.0
        audio_tokens = round(seconds * AUDIO_TOKENS_PER_S)
        assert completion.prompt_tokens >= audio_tokens
        prices = PriceTable.load(Settings().price_table)
        # Audio tokens are priced at the audio rate, not the text rate.
        row = prices.price("lcio-standin")
        text_tokens = completion.prompt_tokens - audio_tokens
        expected = 1e-6 * (text_tokens * row.input + audio_tokens * row.audio_input
                           + completion.completion_tokens * row.output)
        assert completion.cost_usd == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize("fault,error", [
    ("429", CloudRateLimited),
    ("500", CloudUnavailable),
    ("drop:2", CloudStreamDropped),
    ("delay:3", CloudTimeout),
])
def test_injected_faults_map_to_named_errors(server: StandinServer, fault: str,
                                             error: type[Exception]) -> None:
    backend = CloudBackend(settings_for(server, cloud_timeout_s=1.0),
                           extra_headers={"X-LCIO-Fault": fault})
    with pytest.raises(error) as caught:
        backend.generate(ask("a b c d e f"))
    assert type(caught.value) is error  # the exact class, not just a parent
    assert caught.value.retryable
    assert KEY not in str(caught.value)


def test_a_retry_gets_past_one_server_error(server: StandinServer) -> None:
    assert httpx.post(f"{server.root_url}/admin/fault",
                      json={"fault": "500", "times": 1}).status_code == 200
    backend = CloudBackend(settings_for(server, cloud_max_retries=1))
    assert backend.generate(ask("again")).text == "echo: again "


def test_unreachable_endpoint_is_unavailable() -> None:
    settings = Settings(openai_api_key=KEY, openai_base_url=f"http://127.0.0.1:{free_port()}/v1",
                        cloud_max_retries=0, cloud_timeout_s=2)
    with pytest.raises(CloudUnavailable, match="could not be reached"):
        CloudBackend(settings).generate(ask("x"))


def test_bad_key_and_unknown_model_are_refused_without_leaking_the_key(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with StandinServer(Settings(standin_delay_s=0.0), backend=EchoBackend(),
                       api_key="the-right-key") as running:
        backend = CloudBackend(settings_for(running))
        with pytest.raises(CloudRefused, match="API key") as bad_key:
            backend.generate(ask("x"))
        good = CloudBackend(settings_for(running, openai_api_key="the-right-key",
                                         cloud_model="gpt-9"))
        with pytest.raises(CloudRefused, match="no model 'gpt-9'"):
            good.generate(ask("x"))
    assert not bad_key.value.retryable
    texts = [str(bad_key.value), repr(bad_key.value), repr(backend), str(backend),
             repr(backend.settings), caplog.text]
    assert all(KEY not in text for text in texts)


def test_scrub_removes_keys_from_server_messages() -> None:
    import openai

    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(400, request=request)
    exc = openai.BadRequestError(
        "bad", response=response,
        body={"message": f"Incorrect API key provided: {KEY}. Also sk-abc***xyz12."})
    error = map_openai_error(exc, where="x", model="m", timeout_s=1, secret=KEY)
    assert isinstance(error, CloudRefused)
    assert KEY not in error.message and "sk-abc" not in error.message
    assert "[redacted]" in error.message
    assert scrub("Authorization: Bearer abc.def") == "Authorization: [redacted]"


@pytest.mark.parametrize("kind,setting", [("image", "cloud_accepts_images"),
                                          ("audio", "cloud_accepts_audio")])
def test_modalities_the_endpoint_does_not_accept_are_refused_before_sending(
        media_dir: Path, kind: str, setting: str) -> None:
    path = (sample_image("coffee", media_dir) if kind == "image"
            else speech("hello", media_dir, "hello.wav"))
    # An endpoint nobody listens on: reaching the network would raise CloudUnavailable.
    settings = Settings(openai_api_key=KEY, openai_base_url=f"http://127.0.0.1:{free_port()}/v1",
                        cloud_max_retries=0, **{setting: False})
    with pytest.raises(ModalityRefused, match=setting.upper().replace("CLOUD", "LCIO_CLOUD")):
        CloudBackend(settings).generate(ask("what is this", Attachment.from_path(path)))


def test_corrupt_attachments_are_unreadable_before_sending(media_dir: Path) -> None:
    settings = Settings(openai_api_key=KEY, openai_base_url=f"http://127.0.0.1:{free_port()}/v1",
                        cloud_max_retries=0)
    for name in ("broken.png", "broken.ogg"):
        attachment = Attachment.from_path(corrupt_file(media_dir, name))
        with pytest.raises(UnreadableAttachment):
            CloudBackend(settings).generate(ask("x", attachment))


def test_stop_closes_the_stream_and_reports_cancelled() -> None:
    slow = EchoBackend(word_delay_s=0.05)
    with StandinServer(Settings(standin_delay_s=0.0), backend=slow) as running:
        request = ask(" ".join(["word"] * 100), max_new_tokens=200)
        deltas: list[str] = []
        completion = None
        for item in CloudBackend(settings_for(running)).stream(request):
            if isinstance(item, Completion):
                completion = item
            else:
                deltas.append(item)
                if len(deltas) == 3:
                    request.stop.set()
        assert completion is not None and completion.finish_reason == "cancelled"
        assert 3 <= len(deltas) < 20
        assert completion.completion_tokens > 0 and completion.cost_usd > 0  # estimated


def test_missing_usage_is_estimated_and_logged(server: StandinServer,
                                               caplog: pytest.LogCaptureFixture) -> None:
    backend = CloudBackend(settings_for(server), extra_headers={"X-LCIO-Fault": "nousage"})
    with caplog.at_level(logging.WARNING, logger="backends.cloud"):
        completion = backend.generate(ask("count these five words"))
    assert "no usage" in caplog.text and "upper-bound estimates" in caplog.text
    # Never below a bill: the answer's UTF-8 bytes plus one message's chat-format tokens.
    assert completion.completion_tokens == len(completion.text.encode()) + units.MESSAGE_OVERHEAD_TOKENS
    assert completion.prompt_tokens > 0 and completion.cost_usd > 0


def test_history_is_sent_in_order(server: StandinServer, echo: EchoBackend) -> None:
    request = ChatRequest([Message("system", "be brief"), Message("user", "first"),
                           Message("assistant", "echo: first"), Message("user", "second")])
    CloudBackend(settings_for(server)).generate(request)
    seen = echo.requests[-1].messages
    assert [(m.role, m.text) for m in seen] == [(m.role, m.text) for m in request.messages]


def test_concurrent_turns_share_one_backend(server: StandinServer) -> None:
    backend = CloudBackend(settings_for(server))
    results: list[str] = []
    threads = [threading.Thread(target=lambda i=i: results.append(
        backend.generate(ask(f"t{i}")).text)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [f"echo: t{i} " for i in range(4)]


# -- real models and perception behind the stand-in ------------------------------------------


@pytest.mark.slow
def test_image_and_audio_reach_real_perception_through_the_server(tiny_model,
                                                                  media_dir: Path) -> None:
    """The server decodes the parts to files and real perception reads them."""
    from backends.local import LocalBackend
    from backends.perception import attachment_to_text

    model, tokenizer = tiny_model
    perceived: list[str] = []

    def perceive(attachment: Attachment) -> str:
        text = attachment_to_text(attachment)
        perceived.append(text)
        return text

    served = LocalBackend(Settings(local_context_tokens=512, max_new_tokens=4), model=model,
                          tokenizer=tokenizer, perceive=perceive)
    with StandinServer(Settings(standin_delay_s=0.0), backend=served) as running:
        backend = CloudBackend(settings_for(running, max_image_side=512, cloud_timeout_s=120))
        cat = Attachment.from_path(sample_image("chelsea", media_dir))
        _, image_turn = run(backend, ask("what is this", cat, max_new_tokens=4))
        voice = Attachment.from_path(speech("The quick brown fox jumps over the lazy dog",
                                            media_dir, "fox.wav"))
        _, audio_turn = run(backend, ask("summarise", voice, max_new_tokens=4))
    assert "cat" in perceived[0].lower()
    assert "quick brown" in perceived[1].lower() and "lazy dog" in perceived[1].lower()
    assert image_turn.prompt_tokens > IMAGE_TOKENS and audio_turn.prompt_tokens > 10
    assert image_turn.completion_tokens == audio_turn.completion_tokens == 4


@pytest.mark.slow
def test_default_settings_start_the_standin_with_the_real_model() -> None:
    """No key, no base URL: the backend starts the stand-in (bf16 SmolLM2) and uses it."""
    from backends.standin import stop_standin

    settings = Settings(standin_port=free_port(), standin_delay_s=0.2, cloud_timeout_s=120)
    assert settings.uses_standin
    backend = CloudBackend(settings)
    try:
        _, completion = run(backend, ChatRequest(
            [Message("user", "What is the capital of France? Answer in one word.")],
            max_new_tokens=16))
    finally:
        stop_standin()
    assert "paris" in completion.text.lower()
    assert completion.model == "lcio-standin" and completion.ttft_s >= 0.2
    assert completion.prompt_tokens > 5 and 0 < completion.completion_tokens <= 16
    assert completion.cost_usd > 0
    assert str(settings.standin_port) in backend.endpoint


def test_default_model_follows_the_endpoint() -> None:
    assert Settings().cloud_model == "lcio-standin"  # nothing configured: the stand-in
    assert Settings(openai_api_key=KEY).cloud_model == "gpt-4o-mini"  # OpenAI itself
    other = Settings(openai_base_url="http://127.0.0.1:9/v1")
    assert other.cloud_model == ""  # any other endpoint: asked at /v1/models
    assert Settings(openai_base_url="http://127.0.0.1:9/v1", cloud_model="llama3").cloud_model \
        == "llama3"


def test_an_endpoint_without_a_configured_model_uses_the_first_it_lists(
        server: StandinServer) -> None:
    backend = CloudBackend(settings_for(server))
    assert backend.model == ""
    _, done = run(backend, ask("hello there"))
    assert backend.model == done.model == "lcio-standin"


def test_an_unreachable_endpoint_without_a_model_is_a_named_error() -> None:
    backend = CloudBackend(Settings(openai_base_url=f"http://127.0.0.1:{free_port()}/v1",
                                    cloud_max_retries=0, cloud_timeout_s=2.0))
    with pytest.raises(CloudUnavailable):
        run(backend, ask("hello"))
