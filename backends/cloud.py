"""The cloud backend: any OpenAI-compatible endpoint through the real `openai` SDK.

OpenAI, vLLM, Ollama, llama.cpp server and LM Studio all speak the same chat-completions
protocol. With no key and no base URL configured, the backend points at the project's own
stand-in server on 127.0.0.1 (started on first use), so the offline default still goes
through real HTTP. What an endpoint accepts (images? audio?) is configuration, not
guesswork: an attachment of another kind is refused before anything is sent.

Recovery: an endpoint down at start is asked for its model again once it is back; a dead
stand-in child is started again; and a circuit breaker (`backends.breaker`) makes an
unreachable cloud cost one short probe per LCIO_CLOUD_RETRY_S instead of a timeout per turn.

The API key lives only inside the SDK client: it is never stored on the backend, printed,
logged or put into an error message (`backends.cloud_errors` scrubs what endpoints say).
The HTTP stream is read on a thread of its own (`backends.cloud_pump`) so Stop ends a turn
at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletionMessageParam

from backends.base import Accepts, Backend, StreamItem, register
from backends.breaker import CircuitBreaker
from backends.cloud_errors import map_openai_error, scrub
from backends.cloud_pump import Pump
from backends.config import Settings, get_settings
from backends.errors import (
    BackendError,
    CloudRefused,
    CloudStreamDropped,
    CloudUnavailable,
    ModalityRefused,
)
from backends.media import audio_wav_b64, image_data_uri
from backends.pricing import PriceTable, load_prices
from backends.redact import redact_url
from backends.types import ChatRequest, Completion, Message
from backends.usage_bound import bound_tokens

log = logging.getLogger(__name__)

# What importers (the app, the speed benchmark, tests) take from here.
__all__ = ["CloudBackend", "estimate_tokens", "map_openai_error", "scrub"]

STANDIN_API_KEY = "standin"  # what the stand-in (and keyless local servers) are sent
NO_KEY = "no-key"  # the SDK insists on some key; Ollama / llama.cpp ignore it
CHARS_PER_TOKEN = 4  # a typical English token, for expectations (never for what is booked)


def estimate_tokens(text: str) -> int:
    """About how many tokens `text` is: an expectation, not a bound (`backends.usage_bound`)."""
    return max(1, round(len(text) / CHARS_PER_TOKEN)) if text else 0


@register("cloud")
class CloudBackend(Backend):
    """Streams answers from an OpenAI-compatible endpoint; costs come from `usage` and prices.

    `client` may be injected (an `openai.OpenAI`); otherwise one is built from Settings on
    first use. `extra_headers` are sent with every request (tests use them to switch the
    stand-in's faults per backend).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        client: openai.OpenAI | None = None,
        prices: PriceTable | None = None,
        extra_headers: Mapping[str, str] | None = None,
        model: str | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.model = model or self.settings.cloud_model
        self.prices = prices or load_prices(self.settings.price_table)
        self.extra_headers = dict(extra_headers or {})
        self._client = client
        self._own_client = client is None  # an injected client is never replaced
        self._client_lock = threading.Lock()
        self._base_url: str | None = str(client.base_url) if client is not None else None
        self._standin_tried = False  # the first start waits; later (re)starts run behind
        self.breaker = CircuitBreaker(self.settings.cloud_retry_s)

    def __repr__(self) -> str:
        return f"CloudBackend(model={self.model!r}, endpoint={self.endpoint!r})"

    @property
    def endpoint(self) -> str:
        """host:port of the endpoint, for messages (never the key, a login, a path or a query)."""
        if self._base_url:
            url = self._base_url
        elif self.settings.uses_standin:
            return "the stand-in (not started yet)"
        else:
            url = self.settings.openai_base_url or "https://api.openai.com/v1"
        return redact_url(url)

    def _secret(self) -> str | None:
        key = self.settings.openai_api_key
        return key.get_secret_value() if key is not None else None

    def load(self) -> None:
        """Connect now (starting and loading the stand-in if it is the endpoint) to warm up."""
        self.client()

    def accepts(self) -> Accepts:
        """What the endpoint is configured to take (LCIO_CLOUD_ACCEPTS_*, LCIO_CLOUD_MAX_AUDIO_S)."""
        return Accepts(images=self.settings.cloud_accepts_images, audio=self.settings.cloud_accepts_audio,
                       max_audio_s=self.settings.cloud_max_audio_s)

    @property
    def model_name(self) -> str:
        return self.model

    def client(self) -> openai.OpenAI:
        """The SDK client (starting the stand-in if nothing is configured), with the model
        name resolved; asked again on every call until the endpoint has answered."""
        with self._client_lock:
            client = self._connect()
            if not self.model:
                self.model = self._first_listed_model(client)
            return client

    def _connect(self) -> openai.OpenAI:
        """The client for the endpoint as it is now (lock held). For the stand-in: our own
        running child, started again in the background if it died (CloudUnavailable until
        it is ready), and the client rebuilt if its port changed."""
        settings = self.settings
        if not self._own_client and self._client is not None:
            return self._client
        if settings.uses_standin:
            from backends.standin import ensure_standin

            # A child process: its model load and imports never race the caller's (a first
            # local turn importing transformers while the stand-in loads did), and its
            # generation does not compete with the app for one GIL.
            wait, self._standin_tried = not self._standin_tried, True
            url = ensure_standin(settings, mode="subprocess", wait=wait)
            if self._client is None or url.rstrip("/") != (self._base_url or "").rstrip("/"):
                self._client = self._make_client(url, STANDIN_API_KEY)
        elif self._client is None:
            self._client = self._make_client(settings.openai_base_url, self._secret() or NO_KEY)
        return self._client

    def _make_client(self, base_url: str | None, api_key: str) -> openai.OpenAI:
        client = openai.OpenAI(api_key=api_key, base_url=base_url,
                               timeout=self.settings.cloud_timeout_s,
                               max_retries=self.settings.cloud_max_retries)
        self._base_url = str(client.base_url)
        return client

    def _first_listed_model(self, client: openai.OpenAI) -> str:
        """An endpoint configured without a model name (Ollama, LM Studio, vLLM serving one
        model): use the first model it lists, and say so in the log."""
        try:
            listed = [m.id for m in client.models.list().data]
        except openai.OpenAIError as exc:
            raise map_openai_error(exc, where=self.endpoint, model="(none set)",
                                   timeout_s=self.settings.cloud_timeout_s,
                                   secret=self._secret()) from exc
        if not listed:
            raise CloudRefused(f"The cloud at {self.endpoint} lists no model; set LCIO_CLOUD_MODEL.")
        log.info("LCIO_CLOUD_MODEL is not set: using %r, the first model %s lists",
                 listed[0], self.endpoint)
        return listed[0]

    def _usable_client(self) -> openai.OpenAI:
        """The client, unless the breaker is open: then CloudUnavailable at once, except for
        the one caller per interval that probes (a short GET /models) and, if the cloud
        answers, closes the breaker and goes on."""
        if self.breaker.is_open:
            if not self.breaker.claim_probe():
                raise CloudUnavailable(self.breaker.message(self.endpoint))
            try:
                self._probe()
            except CloudUnavailable:
                raise CloudUnavailable(self.breaker.message(self.endpoint)) from None
            except BackendError:
                pass  # it answered (e.g. 401): reachable; the request will say what is wrong
            self.breaker.close()
            log.info("the cloud at %s is reachable again", self.endpoint)
        try:
            return self.client()
        except CloudUnavailable:
            self.breaker.trip()
            raise

    def _probe(self) -> None:
        """One short request: is the endpoint there (and which model, if none is set)?"""
        with self._client_lock:
            client = self._connect()
        quick = client.with_options(timeout=self.settings.cloud_probe_timeout_s, max_retries=0)
        try:
            listed = [m.id for m in quick.models.list().data]
        except openai.OpenAIError as exc:
            raise map_openai_error(exc, where=self.endpoint, model=self.model or "(none set)",
                                   timeout_s=self.settings.cloud_probe_timeout_s,
                                   secret=self._secret()) from None
        if not self.model and listed:
            self.model = listed[0]

    # -- request -----------------------------------------------------------------------------

    def check_modalities(self, request: ChatRequest) -> None:
        """Refuse what `accepts()` excludes, before any upload. The engine masks such actions
        before the policy decides; this keeps a direct caller from sending them anyway."""
        accepts = self.accepts()
        for attachment in (a for m in request.messages for a in m.attachments):
            if why := accepts.refuses(attachment):
                setting = {"image": "LCIO_CLOUD_ACCEPTS_IMAGES=false"}.get(
                    attachment.kind, "LCIO_CLOUD_ACCEPTS_AUDIO=false" if not accepts.audio
                    else "LCIO_CLOUD_MAX_AUDIO_S")
                raise ModalityRefused(f"The cloud model {self.model!r} {why} ({setting}); answer "
                                      f"locally or remove the {attachment.kind} file.")

    def to_openai_messages(self, messages: list[Message]) -> list[dict[str, Any]]:
        """Project messages -> OpenAI chat messages (text, image_url, input_audio parts)."""
        out: list[dict[str, Any]] = []
        for message in messages:
            if not message.attachments or message.role != "user":
                out.append({"role": message.role, "content": message.text})
                continue
            parts: list[dict[str, Any]] = []
            if message.text:
                parts.append({"type": "text", "text": message.text})
            for attachment in message.attachments:
                if attachment.kind == "image":
                    uri = image_data_uri(attachment.path, self.settings.max_image_side,
                                         attachment.sha256)
                    parts.append({"type": "image_url", "image_url": {"url": uri}})
                else:
                    data = audio_wav_b64(attachment.path, attachment.sha256)
                    parts.append({"type": "input_audio",
                                  "input_audio": {"data": data, "format": "wav"}})
            out.append({"role": message.role, "content": parts})
        return out

    # -- streaming ---------------------------------------------------------------------------

    def stream(self, request: ChatRequest) -> Iterator[StreamItem]:
        """Yield text deltas, then one Completion; see `Backend.stream`."""
        self.check_modalities(request)
        messages = self.to_openai_messages(request.messages)
        attachments = [a for m in request.messages if m.role == "user" for a in m.attachments]
        started = time.perf_counter()
        client = self._usable_client()
        timeout_s, retries = self._call_limits(request.time_left_s)
        secret = self._secret()

        def mapped(exc: openai.OpenAIError, mid_stream: bool) -> BackendError:
            error = map_openai_error(exc, where=self.endpoint, model=self.model,
                                     timeout_s=timeout_s, mid_stream=mid_stream, secret=secret)
            status = getattr(exc, "status_code", None)
            log.warning("cloud request failed: %s (status %s) -> %s", type(exc).__name__,
                        status, type(error).__name__)
            return error

        client = client.with_options(timeout=timeout_s, max_retries=retries)
        # The HTTP call runs on a pump thread, so Stop or the budget's deadline ends the turn at
        # once, even while the endpoint has not sent a byte; the stream is closed behind it.
        max_tokens = request.max_new_tokens or self.settings.max_new_tokens
        pump = Pump(lambda: client.chat.completions.create(
            model=self.model,
            # our plain dicts have exactly the shape of openai's message TypedDicts
            messages=cast(list[ChatCompletionMessageParam], messages),
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=max_tokens,
            temperature=request.temperature,
            extra_headers=self.extra_headers or None,
        ), request.stop)

        got = _Streamed(self.model)
        try:
            yield from _read_chunks(pump, request.stop, started, got)
        except openai.OpenAIError as exc:
            if not pump.opened and isinstance(exc, openai.APIConnectionError):
                self.breaker.trip()  # refused or timed out before answering: unreachable
            if not request.stop.is_set():
                if not pump.opened:
                    raise mapped(exc, mid_stream=False) from None
                error = mapped(exc, mid_stream=True)
                # Tokens already streamed were paid for: the caller charges them.
                error.partial_cost = self._completion(None, messages, got.text, attachments, got.model,
                                                      started, got.ttft_s, "error", max_tokens)
                raise error from None
            got.cancelled = True
        finally:
            pump.close()
        if got.finish is None and not got.cancelled:
            error = CloudStreamDropped(
                f"The answer from {self.endpoint} was cut off before it finished; try again."
            )
            error.partial_cost = self._completion(got.usage, messages, got.text, attachments, got.model,
                                                  started, got.ttft_s, "error", max_tokens)
            raise error
        yield self._completion(got.usage, messages, got.text, attachments, got.model, started, got.ttft_s,
                               "cancelled" if got.cancelled else got.finish or "stop", max_tokens)

    def _call_limits(self, time_left_s: float | None) -> tuple[float, int]:
        """The SDK's timeout and retries for one call, within the seconds the turn has left:
        the timeout never runs past them, and a retry is made only when a whole one fits."""
        timeout_s, retries = self.settings.cloud_timeout_s, self.settings.cloud_max_retries
        if time_left_s is None:
            return timeout_s, retries
        timeout_s = max(0.1, min(timeout_s, time_left_s))
        if timeout_s * (retries + 1) > time_left_s:
            retries = 0
        return timeout_s, retries

    def _completion(self, usage: Any, messages: list[dict[str, Any]], text: str,
                    attachments: list[Any], served_model: str, started: float,
                    ttft: float | None, finish: str, max_tokens: int) -> Completion:
        """What the answer (or the part of it that arrived) cost: from `usage`, or without
        it an upper bound of what the endpoint can bill (`backends.usage_bound`)."""
        latency = time.perf_counter() - started
        images = sum(a.kind == "image" for a in attachments)
        if _has_usage(usage):
            prompt_tokens, completion_tokens = int(usage.prompt_tokens), int(usage.completion_tokens or 0)
            cost = self.prices.cost(served_model, usage, images=images)
        else:
            prompt_tokens, completion_tokens, cost = self._bounded_bill(
                served_model, messages, text, max_tokens)
        return Completion(
            text=text,
            backend=self.name,
            model=served_model,
            ttft_s=ttft if ttft is not None else latency,
            latency_s=latency,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost,
            energy_j=0.0,  # the provider's energy is not ours to measure
            finish_reason=finish,
            attachments_used=tuple(a.sha256 for a in attachments),
            usage_estimated=not _has_usage(usage),
        )

    def _bounded_bill(self, model: str, messages: list[dict[str, Any]], text: str,
                      max_tokens: int) -> tuple[int, int, float]:
        """Prompt tokens, completion tokens and dollars booked when no usage came back: never
        below what the endpoint bills, priced as the guard prices its worst case."""
        bound = bound_tokens(messages, text, max_tokens)
        log.warning("cloud endpoint %s sent no usage; token counts and cost are upper-bound "
                    "estimates", self.endpoint)
        cost = self.prices.worst_case_cost(model, bound.prompt, bound.completion, bound.audio,
                                           bound.image)
        image = round(bound.image * self.prices.price(model).image_token_multiplier)
        return bound.text + bound.audio + image, bound.completion, cost


def _has_usage(usage: Any) -> bool:
    return usage is not None and getattr(usage, "prompt_tokens", None) is not None


@dataclass
class _Streamed:
    """What a streamed answer has brought so far (read by the error paths too)."""

    model: str  # the model that answers, as the chunks name it
    pieces: list[str] = field(default_factory=list)
    ttft_s: float | None = None
    finish: str | None = None
    usage: Any = None
    cancelled: bool = False

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def _read_chunks(pump: Pump, stop: threading.Event, started: float, got: _Streamed) -> Iterator[str]:
    """Yield the answer's text deltas from the chunks, noting the rest in `got`; a Stop ends it."""
    for chunk in pump:
        if chunk.model:
            got.model = chunk.model
        if chunk.usage is not None:
            got.usage = chunk.usage
        for choice in chunk.choices:
            delta = choice.delta.content if choice.delta is not None else None
            if delta:
                if got.ttft_s is None:
                    got.ttft_s = time.perf_counter() - started
                got.pieces.append(delta)
                yield delta
            if choice.finish_reason:
                got.finish = choice.finish_reason
        if stop.is_set() and got.finish is None:
            got.cancelled = True
            return
    got.cancelled = got.cancelled or (stop.is_set() and got.finish is None)
