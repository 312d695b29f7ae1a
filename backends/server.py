"""The project's own OpenAI-compatible "cloud": a stand-in the app and tests reach over real HTTP.

It serves `GET /v1/models` and `POST /v1/chat/completions` (streaming SSE and plain JSON,
with `usage`) from a model that is *not* the local one: by default Qwen2.5-Coder-0.5B-Instruct
from its weight packages, or, when those are missing or fail their check, the embedded
SmolLM2-135M-Instruct in bf16 with a note saying why (`backends.standin_model`; the note is in
`/health` and `/v1/models`), or `Settings.standin_model`. Images and audio
arrive as `image_url` data URIs and `input_audio`; they are written to temp files and passed
on as `Attachment`s, which the local-model backend turns into text through perception.

It behaves like a provider on purpose: a network delay (`Settings.standin_delay_s`, or the
`X-LCIO-Delay` header per request), a price-table row of its own ("lcio-standin"), and
switchable faults so the client's error handling is exercised for real:

    X-LCIO-Fault: 429 | 500 | 503 | drop | drop:N | delay:S | nousage   (one request)
    POST /admin/fault {"fault": "429", "times": 1}             (next N requests; 0 = until cleared)
    DELETE /admin/fault                                         (clear)
    LCIO_STANDIN_FAULT=drop:2 python -m backends.server         (every request, from start)

`drop:N` ends the stream after N content chunks with no finish_reason and no [DONE];
`nousage` leaves `usage` out, like endpoints that ignore `stream_options`.
Generation is serialised (one model), HTTP is concurrent.

Run: `python -m backends.server [--host 127.0.0.1] [--port 8765] [--model REF] [--delay S]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from backends import units
from backends.base import Backend
from backends.config import Settings, get_settings
from backends.errors import BackendError, PromptTooLong, UnreadableAttachment
from backends.lifeline import watch_parent
from backends.media import decode_b64, decode_data_uri, suffix_for_mime, wav_duration_s
from backends.types import Attachment, ChatRequest, Completion, Message

log = logging.getLogger(__name__)

STANDIN_MODEL_ID = "lcio-standin"
# How the stand-in bills attachments, in the spirit of hosted models, from the figures the
# budget guard also reads (backends.units): a fixed token count per image (OpenAI's "low
# detail" figure) and 10 audio tokens per second (gpt-4o audio input).
IMAGE_TOKENS = units.IMAGE_BASE_TOKENS
AUDIO_TOKENS_PER_S = units.AUDIO_TOKENS_PER_S
FAULT_ENV = "LCIO_STANDIN_FAULT"
API_KEY_ENV = "LCIO_STANDIN_API_KEY"
INSTANCE_ENV = "LCIO_STANDIN_INSTANCE"  # a token /health returns, so a parent knows its own child
_ROLE_MAP = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
_AUDIO_FORMATS = {"wav", "mp3", "flac", "ogg", "m4a", "webm", "aac", "opus"}


# -- faults ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """What to break in one response: an HTTP status, an early stream end, an extra delay."""

    status: int | None = None
    drop_after: int | None = None
    delay_s: float = 0.0
    no_usage: bool = False

    @classmethod
    def parse(cls, spec: str | None) -> Fault:
        """Parse "429", "500", "drop", "drop:3", "delay:2.5", "nousage" (comma-separated)."""
        status: int | None = None
        drop_after: int | None = None
        delay = 0.0
        no_usage = False
        for part in (spec or "").replace(" ", "").lower().split(","):
            if not part or part == "none":
                continue
            name, _, arg = part.partition(":")
            if name.isdigit() and 400 <= int(name) <= 599:
                status = int(name)
            elif name == "drop":
                drop_after = int(arg) if arg else 1
            elif name == "delay" and arg:
                delay = float(arg)
            elif name == "nousage":
                no_usage = True
            else:
                raise ValueError(f"unknown fault {part!r}")
        return cls(status, drop_after, delay, no_usage)

    @property
    def active(self) -> bool:
        return (self.status is not None or self.drop_after is not None or self.delay_s > 0
                or self.no_usage)


@dataclass
class FaultSwitch:
    """Faults set at start or through /admin/fault; thread-safe, consumed per request."""

    standing: Fault = field(default_factory=Fault)
    queued: Fault = field(default_factory=Fault)
    times: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, fault: Fault, times: int) -> None:
        with self.lock:
            if times <= 0:
                self.standing, self.queued, self.times = fault, Fault(), 0
            else:
                self.queued, self.times = fault, times

    def clear(self) -> None:
        self.set(Fault(), 0)

    def take(self) -> Fault:
        with self.lock:
            if self.times > 0:
                self.times -= 1
                return self.queued
            return self.standing


# -- the request, in project types ------------------------------------------------------------


class BadRequest(Exception):
    """A request the stand-in refuses with HTTP 400, in OpenAI's error shape."""

    def __init__(self, message: str, code: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


@dataclass
class ParsedRequest:
    chat: ChatRequest
    stream: bool
    include_usage: bool
    images: int
    audio_s: float


def _write(tmpdir: Path, data: bytes, suffix: str) -> Path:
    path = tmpdir / f"{uuid.uuid4().hex}{suffix}"
    path.write_bytes(data)
    return path


def _parse_part(part: Any, tmpdir: Path, max_bytes: int) -> tuple[str, Attachment | None, float]:
    """One content part -> (text, attachment, audio seconds)."""
    if isinstance(part, str):
        return part, None, 0.0
    if not isinstance(part, dict):
        raise BadRequest("Each content part must be an object.")
    kind = part.get("type")
    if kind == "text":
        return str(part.get("text", "")), None, 0.0
    if kind == "image_url":
        spec = part.get("image_url")
        url = spec.get("url") if isinstance(spec, dict) else spec
        if not isinstance(url, str):
            raise BadRequest("image_url.url is missing.")
        if not url.startswith("data:"):
            raise BadRequest("The stand-in has no network: send images as data: URIs.",
                             code="invalid_image_url")
        data, mime = decode_data_uri(url)
        path = _write(tmpdir, data, suffix_for_mime(mime))
        return "", Attachment.from_path(path, max_bytes=max_bytes), 0.0
    if kind == "input_audio":
        spec = part.get("input_audio") or {}
        fmt = str(spec.get("format", "wav")).lower()
        if fmt not in _AUDIO_FORMATS:
            raise BadRequest(f"Unsupported audio format {fmt!r}.", code="invalid_audio_format")
        data = decode_b64(str(spec.get("data", "")))
        path = _write(tmpdir, data, f".{fmt}")
        seconds = wav_duration_s(data) if fmt == "wav" else 0.0
        return "", Attachment.from_path(path, max_bytes=max_bytes), seconds
    raise BadRequest(f"Unsupported content part type {kind!r}.")


def parse_request(body: Any, tmpdir: Path, settings: Settings) -> ParsedRequest:
    """An OpenAI chat-completions body -> ChatRequest with attachments saved under `tmpdir`."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise BadRequest("The body must be a JSON object with a 'messages' list.")
    max_bytes = int(settings.max_attachment_mb * 2**20)
    messages: list[Message] = []
    images, audio_s = 0, 0.0
    for raw in body["messages"]:
        if not isinstance(raw, dict):
            raise BadRequest("Each message must be an object.")
        role = _ROLE_MAP.get(str(raw.get("role")))
        if role is None:
            continue  # tool/function messages: nothing this model can use
        content = raw.get("content")
        parts = [content] if isinstance(content, str) else (content or [])
        if not isinstance(parts, list):
            raise BadRequest("message.content must be a string or a list of parts.")
        texts: list[str] = []
        attachments: list[Attachment] = []
        for part in parts:
            text, attachment, seconds = _parse_part(part, tmpdir, max_bytes)
            if text:
                texts.append(text)
            if attachment is not None:
                attachments.append(attachment)
                images += attachment.kind == "image"
                audio_s += seconds
        messages.append(Message(role, "\n".join(texts), tuple(attachments)))  # type: ignore[arg-type]
    if not messages:
        raise BadRequest("There are no messages to answer.")
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or settings.max_new_tokens
    temperature = body.get("temperature")
    stream_options = body.get("stream_options") or {}
    chat = ChatRequest(
        messages=messages,
        max_new_tokens=int(max_tokens),
        temperature=float(temperature) if temperature is not None else 0.0,
    )
    return ParsedRequest(
        chat=chat,
        stream=bool(body.get("stream", False)),
        include_usage=bool(stream_options.get("include_usage", False)),
        images=images,
        audio_s=audio_s,
    )


# -- responses ------------------------------------------------------------------------------


def error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "server_error",
}


def error_response(status: int, message: str, code: str | None = None) -> JSONResponse:
    kind = _STATUS_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return JSONResponse(error_body(message, kind, code), status_code=status)


def usage_of(completion: Completion, images: int, audio_s: float) -> dict[str, Any]:
    """OpenAI-shaped usage: what the model read, plus the stand-in's attachment billing."""
    audio_tokens = round(audio_s * AUDIO_TOKENS_PER_S)
    prompt = completion.prompt_tokens + images * IMAGE_TOKENS + audio_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion.completion_tokens,
        "total_tokens": prompt + completion.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": audio_tokens,
                                  "image_tokens": images * IMAGE_TOKENS},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def _finish(completion: Completion) -> str:
    return "length" if completion.finish_reason == "length" else "stop"


def _sse(payload: dict[str, Any] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {data}\n\n".encode()


# -- the generator bridge: a blocking Backend.stream feeding the event loop ------------------

_END = object()


class Generation:
    """Runs `backend.stream` in its own thread, one at a time, handing items to asyncio."""

    def __init__(self, backend: Backend, chat: ChatRequest, lock: threading.Lock,
                 cleanup: Callable[[], None]) -> None:
        self.chat = chat
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(self.queue.put_nowait, item)
            except RuntimeError:  # the server shut down mid-answer: nobody is listening
                chat.stop.set()

        def work() -> None:
            try:
                with lock:
                    if chat.stop.is_set():
                        return
                    for item in backend.stream(chat):
                        put(item)
            except Exception as exc:  # noqa: BLE001 (handed to the request, mapped to HTTP)
                put(exc)
            finally:
                cleanup()
                put(_END)

        self.thread = threading.Thread(target=work, name="lcio-standin-generate", daemon=True)
        self.thread.start()

    async def items(self) -> AsyncIterator[Any]:
        while True:
            item = await self.queue.get()
            if item is _END:
                return
            yield item

    def cancel(self) -> None:
        self.chat.stop.set()


# -- the app --------------------------------------------------------------------------------


@dataclass
class StandinState:
    backend_factory: Callable[[], Backend]
    settings: Settings
    model_id: str
    delay_s: float
    faults: FaultSwitch
    api_key: str | None
    backend: Backend | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    load_lock: threading.Lock = field(default_factory=threading.Lock)

    def get_backend(self) -> Backend:
        if self.backend is None:
            with self.load_lock:
                if self.backend is None:
                    self.backend = self.backend_factory()
        return self.backend

    @property
    def note(self) -> str:
        """Why the stand-in serves something else than intended ("" when it does not)."""
        return str(getattr(self.backend, "standin_note", "") or "")

    @property
    def root_model(self) -> str:
        backend = self.backend
        name = getattr(backend, "model_name", None) if backend is not None else None
        return str(name or self.settings.standin_model or "SmolLM2-135M-Instruct")


def default_backend(settings: Settings) -> Backend:
    """The local-model backend over the stand-in's model (`backends.standin_model` picks it)."""
    from backends.local import LocalBackend, shared_model
    from backends.standin_model import choose_standin

    choice = choose_standin(settings)
    loaded = shared_model(choice.ref, settings.local_device, quantize=choice.quantize)
    backend = LocalBackend(settings, model=loaded.model, tokenizer=loaded.tokenizer)
    backend.load().name = f"{choice.name} ({'nf4' if choice.quantize else 'bf16'})"
    backend.standin_note = choice.note  # type: ignore[attr-defined]
    return backend


def create_app(
    backend: Backend | Callable[[], Backend] | None = None,
    settings: Settings | None = None,
    *,
    model_id: str = STANDIN_MODEL_ID,
    delay_s: float | None = None,
    fault: str | None = None,
    api_key: str | None = None,
    preload: bool = True,
    instance: str | None = None,
) -> FastAPI:
    """Build the stand-in app.

    `backend` answers the turns: a `Backend`, a zero-argument factory, or None for the
    default full-precision local model. `fault` (or env LCIO_STANDIN_FAULT) applies to every
    request; `api_key` (or env LCIO_STANDIN_API_KEY), when set, is required as the Bearer token.
    `preload` loads the model at startup, so the server only accepts connections once ready.
    `instance` (or env LCIO_STANDIN_INSTANCE) is echoed by /health: whoever started this
    server can tell it from any other program answering on the same port.
    """
    instance = instance if instance is not None else os.environ.get(INSTANCE_ENV, "")
    settings = settings or get_settings()
    if backend is None:
        def factory() -> Backend:
            return default_backend(settings)
    elif isinstance(backend, Backend):
        fixed = backend

        def factory() -> Backend:
            return fixed
    else:
        factory = backend
    faults = FaultSwitch()
    faults.set(Fault.parse(fault if fault is not None else os.environ.get(FAULT_ENV, "")), 0)
    state = StandinState(
        backend_factory=factory,
        settings=settings,
        model_id=model_id,
        delay_s=settings.standin_delay_s if delay_s is None else delay_s,
        faults=faults,
        api_key=api_key if api_key is not None else (os.environ.get(API_KEY_ENV) or None),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if preload:
            await asyncio.to_thread(state.get_backend)
        yield

    app = FastAPI(title="LCIO stand-in cloud", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.standin = state

    def authorised(request: Request) -> bool:
        if state.api_key is None:
            return True
        header = request.headers.get("authorization", "")
        return secrets.compare_digest(header, f"Bearer {state.api_key}")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": state.model_id, "root": state.root_model,
                "ready": state.backend is not None, "instance": instance, "note": state.note}

    @app.get("/v1/models", response_model=None)
    async def models(request: Request) -> JSONResponse | dict[str, Any]:
        if not authorised(request):
            return error_response(401, "Incorrect API key provided.", "invalid_api_key")
        return {"object": "list", "data": [{
            "id": state.model_id, "object": "model", "created": 0,
            "owned_by": "lcio", "root": state.root_model, "note": state.note,
        }]}

    @app.post("/admin/fault")
    async def set_fault(request: Request) -> dict[str, Any]:
        body = await request.json()
        try:
            parsed = Fault.parse(str(body.get("fault", "")))
        except ValueError as exc:
            return error_response(400, str(exc))  # type: ignore[return-value]
        times = int(body.get("times", 1))
        faults.set(parsed, times)
        return {"fault": body.get("fault"), "times": times}

    @app.delete("/admin/fault")
    async def clear_fault() -> dict[str, Any]:
        faults.clear()
        return {"fault": None}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> JSONResponse | StreamingResponse:
        if not authorised(request):
            return error_response(401, "Incorrect API key provided.", "invalid_api_key")
        try:
            header_fault = Fault.parse(request.headers.get("x-lcio-fault"))
            header_delay = request.headers.get("x-lcio-delay")
            base_delay = state.delay_s if header_delay is None else float(header_delay)
        except ValueError as exc:
            return error_response(400, f"Bad fault or delay header: {exc}")
        fault = header_fault if header_fault.active else faults.take()
        delay = max(0.0, base_delay + fault.delay_s)
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return error_response(400, "The body is not valid JSON.")
        if not isinstance(body, dict):
            return error_response(400, "The body must be a JSON object.")
        model = body.get("model")
        if model not in (state.model_id, state.root_model):
            return error_response(
                404, f"The model {model!r} does not exist; this server offers {state.model_id!r}.",
                "model_not_found",
            )
        if delay:
            await asyncio.sleep(delay)  # the network and queue time of a real provider
        if fault.status is not None:
            headers = {"retry-after": "1"} if fault.status == 429 else None
            response = error_response(fault.status, f"Injected fault: HTTP {fault.status}.")
            if headers:
                response.headers.update(headers)
            return response

        tmp = tempfile.TemporaryDirectory(prefix="lcio-standin-")
        try:
            parsed = parse_request(body, Path(tmp.name), settings)
        except (BadRequest, UnreadableAttachment) as exc:
            tmp.cleanup()
            code = getattr(exc, "code", None) or "invalid_attachment"
            return error_response(getattr(exc, "status", 400), exc.message, code)
        backend = await asyncio.to_thread(state.get_backend)
        generation = Generation(backend, parsed.chat, state.lock, tmp.cleanup)
        items = generation.items()
        try:
            first = await anext(items, _END)
        except BaseException:
            generation.cancel()
            raise
        if isinstance(first, BaseException):
            return _error_from_backend(first)
        if fault.no_usage:
            parsed.include_usage = False
        if not parsed.stream:
            return await _complete(first, items, parsed, state.model_id, not fault.no_usage)
        return StreamingResponse(
            _stream(first, items, parsed, state.model_id, fault, generation),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    return app


def _error_from_backend(exc: BaseException) -> JSONResponse:
    if isinstance(exc, PromptTooLong):
        return error_response(400, exc.message, "context_length_exceeded")
    if isinstance(exc, UnreadableAttachment):
        return error_response(400, exc.message, "invalid_attachment")
    if isinstance(exc, BackendError):
        return error_response(400 if not exc.retryable else 503, exc.message)
    log.exception("stand-in generation failed", exc_info=exc)
    return error_response(500, "The stand-in model failed while answering.")


async def _complete(first: Any, items: AsyncIterator[Any], parsed: ParsedRequest,
                    model_id: str, with_usage: bool = True) -> JSONResponse:
    pieces: list[str] = []
    completion: Completion | None = None
    item = first
    while item is not _END:
        if isinstance(item, BaseException):
            return _error_from_backend(item)
        if isinstance(item, Completion):
            completion = item
        elif isinstance(item, str):
            pieces.append(item)
        item = await anext(items, _END)
    if completion is None:
        return error_response(500, "The stand-in model ended without an answer.")
    body: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_id,
        "system_fingerprint": None,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "".join(pieces), "refusal": None},
            "logprobs": None,
            "finish_reason": _finish(completion),
        }],
    }
    if with_usage:
        body["usage"] = usage_of(completion, parsed.images, parsed.audio_s)
    return JSONResponse(body)


async def _stream(first: Any, items: AsyncIterator[Any], parsed: ParsedRequest, model_id: str,
                  fault: Fault, generation: Generation) -> AsyncIterator[bytes]:
    """SSE chunks in the chat.completion.chunk format, then usage, then [DONE]."""
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model_id,
        "system_fingerprint": None,
    }
    with_usage = {"usage": None} if parsed.include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _sse({**base, "choices": [choice], **with_usage})

    sent = 0
    try:
        yield chunk({"role": "assistant", "content": "", "refusal": None})
        item = first
        while item is not _END:
            if isinstance(item, BaseException):
                log.warning("stand-in generation failed mid-stream: %s", item)
                yield _sse(error_body("The stand-in model failed while answering.",
                                      "server_error"))
                return
            if isinstance(item, str) and item:
                if fault.drop_after is not None and sent >= fault.drop_after:
                    return  # injected: the stream ends with no finish_reason and no [DONE]
                yield chunk({"content": item})
                sent += 1
            elif isinstance(item, Completion):
                yield chunk({}, _finish(item))
                if parsed.include_usage:
                    yield _sse({**base, "choices": [],
                                "usage": usage_of(item, parsed.images, parsed.audio_s)})
                yield _sse("[DONE]")
            item = await anext(items, _END)
    finally:
        generation.cancel()


# -- command line ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """`python -m backends.server`: serve the stand-in on Settings.standin_host:standin_port."""
    import uvicorn

    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=settings.standin_host)
    parser.add_argument("--port", type=int, default=settings.standin_port)
    parser.add_argument("--model", default=None,
                        help="GGUF file, model folder or HF id (default: Qwen parts, else SmolLM2)")
    parser.add_argument("--delay", type=float, default=None, help="seconds before each answer")
    parser.add_argument("--fault", default=None, help="e.g. 429, 500, drop:2, delay:3")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    if args.model is not None:
        settings = settings.model_copy(update={"standin_model": args.model})
    logging.basicConfig(level=args.log_level.upper())
    watch_parent()  # started by the app: end with it, even if it is killed with SIGKILL
    app = create_app(settings=settings, delay_s=args.delay, fault=args.fault)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
