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

This module is the app and its command line; its parts each have a module: the faults
(`standin_faults`), reading a request (`standin_request`), the generation thread
(`standin_generation`) and the answers in OpenAI's shapes (`standin_reply`).
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
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from backends.base import Backend
from backends.config import Settings, get_settings
from backends.errors import UnreadableAttachment
from backends.lifeline import watch_parent
from backends.standin_faults import Fault, FaultSwitch
from backends.standin_generation import END, Generation
from backends.standin_reply import (
    AUDIO_TOKENS_PER_S,
    IMAGE_TOKENS,
    complete,
    error_from_backend,
    error_response,
    stream_chunks,
    usage_of,
)
from backends.standin_request import BadRequest, parse_request

# The stand-in's public face: what the app, its starter (backends.standin) and tests import.
__all__ = ["API_KEY_ENV", "AUDIO_TOKENS_PER_S", "FAULT_ENV", "IMAGE_TOKENS", "INSTANCE_ENV",
           "STANDIN_MODEL_ID", "Fault", "create_app", "default_backend", "main", "usage_of"]

STANDIN_MODEL_ID = "lcio-standin"
FAULT_ENV = "LCIO_STANDIN_FAULT"
API_KEY_ENV = "LCIO_STANDIN_API_KEY"
INSTANCE_ENV = "LCIO_STANDIN_INSTANCE"  # a token /health returns, so a parent knows its own child


# -- the app --------------------------------------------------------------------------------


@dataclass
class StandinState:
    """What the routes share: the (lazily loaded) backend, its lock, the settings and faults."""

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

    @property
    def device(self) -> str:
        """Where the served model computes ("cuda:0", "cpu"); "" until it is loaded."""
        return str(getattr(self.backend, "device", "") or "")

    @property
    def threads(self) -> int:
        """Torch's CPU threads in this process (`Settings.standin_threads`)."""
        import torch

        return torch.get_num_threads()


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
    faults = FaultSwitch()
    faults.set(Fault.parse(fault if fault is not None else os.environ.get(FAULT_ENV, "")), 0)
    state = StandinState(
        backend_factory=_backend_factory(backend, settings),
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
    _add_info_routes(app, state, instance)
    _add_fault_routes(app, faults)
    _add_chat_route(app, state)
    return app


def _backend_factory(backend: Backend | Callable[[], Backend] | None, settings: Settings
                     ) -> Callable[[], Backend]:
    """What builds the answering backend: the default model, a given backend, or a factory."""
    if backend is None:
        return lambda: default_backend(settings)
    if isinstance(backend, Backend):
        fixed = backend
        return lambda: fixed
    return backend


def _authorised(state: StandinState, request: Request) -> bool:
    if state.api_key is None:
        return True
    header = request.headers.get("authorization", "")
    return secrets.compare_digest(header, f"Bearer {state.api_key}")


def _add_info_routes(app: FastAPI, state: StandinState, instance: str) -> None:
    """/health (which model, ready, whose instance) and /v1/models."""

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": state.model_id, "root": state.root_model,
                "ready": state.backend is not None, "instance": instance, "note": state.note,
                "device": state.device, "threads": state.threads}

    @app.get("/v1/models", response_model=None)
    async def models(request: Request) -> JSONResponse | dict[str, Any]:
        if not _authorised(state, request):
            return error_response(401, "Incorrect API key provided.", "invalid_api_key")
        return {"object": "list", "data": [{
            "id": state.model_id, "object": "model", "created": 0,
            "owned_by": "lcio", "root": state.root_model, "note": state.note,
        }]}


def _add_fault_routes(app: FastAPI, faults: FaultSwitch) -> None:
    """/admin/fault: set the fault the next requests meet, or clear it (tests and demos)."""

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


def _request_fault(state: StandinState, request: Request) -> tuple[Fault, float]:
    """The fault this request meets (its header's, else the switch's) and its delay in seconds;
    ValueError for a malformed header."""
    header_fault = Fault.parse(request.headers.get("x-lcio-fault"))
    header_delay = request.headers.get("x-lcio-delay")
    base_delay = state.delay_s if header_delay is None else float(header_delay)
    fault = header_fault if header_fault.active else state.faults.take()
    return fault, max(0.0, base_delay + fault.delay_s)


async def _json_body(state: StandinState, request: Request) -> dict[str, Any] | JSONResponse:
    """The request's JSON object naming this server's model, or the error to answer with."""
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
    return body


def _fault_response(fault: Fault) -> JSONResponse:
    response = error_response(fault.status or 500, f"Injected fault: HTTP {fault.status}.")
    if fault.status == 429:
        response.headers.update({"retry-after": "1"})
    return response


def _add_chat_route(app: FastAPI, state: StandinState) -> None:
    """/v1/chat/completions: the OpenAI chat API, streamed or not, with injected faults."""

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> JSONResponse | StreamingResponse:
        if not _authorised(state, request):
            return error_response(401, "Incorrect API key provided.", "invalid_api_key")
        try:
            fault, delay = _request_fault(state, request)
        except ValueError as exc:
            return error_response(400, f"Bad fault or delay header: {exc}")
        body = await _json_body(state, request)
        if isinstance(body, JSONResponse):
            return body
        if delay:
            await asyncio.sleep(delay)  # the network and queue time of a real provider
        if fault.status is not None:
            return _fault_response(fault)
        return await _answer(state, body, fault)


async def _answer(state: StandinState, body: dict[str, Any], fault: Fault
                  ) -> JSONResponse | StreamingResponse:
    """Parse the request, generate on the backend, and reply whole or as a stream."""
    tmp = tempfile.TemporaryDirectory(prefix="lcio-standin-")
    try:
        parsed = parse_request(body, Path(tmp.name), state.settings)
    except (BadRequest, UnreadableAttachment) as exc:
        tmp.cleanup()
        code = getattr(exc, "code", None) or "invalid_attachment"
        return error_response(getattr(exc, "status", 400), exc.message, code)
    backend = await asyncio.to_thread(state.get_backend)
    generation = Generation(backend, parsed.chat, state.lock, tmp.cleanup)
    items = generation.items()
    try:
        first = await anext(items, END)
    except BaseException:
        generation.cancel()
        raise
    if isinstance(first, BaseException):
        return error_from_backend(first)
    if fault.no_usage:
        parsed.include_usage = False
    if not parsed.stream:
        return await complete(first, items, parsed, state.model_id, not fault.no_usage)
    return StreamingResponse(
        stream_chunks(first, items, parsed, state.model_id, fault, generation),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


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
    if settings.standin_threads > 0:  # its own process: the app's threads are not touched
        import torch

        torch.set_num_threads(settings.standin_threads)
    watch_parent()  # started by the app: end with it, even if it is killed with SIGKILL
    app = create_app(settings=settings, delay_s=args.delay, fault=args.fault)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
