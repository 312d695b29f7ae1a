"""The stand-in's answers in OpenAI's shapes: errors, `usage`, a whole completion, SSE chunks.

The stand-in bills attachments in the spirit of hosted models, from the figures the budget
guard also reads (`backends.units`): a fixed token count per image (OpenAI's "low detail"
figure) and 10 audio tokens per second (gpt-4o audio input).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import JSONResponse

from backends import units
from backends.errors import BackendError, PromptTooLong, UnreadableAttachment
from backends.standin_faults import Fault
from backends.standin_generation import END, Generation
from backends.standin_request import ParsedRequest
from backends.types import Completion

log = logging.getLogger(__name__)

IMAGE_TOKENS = units.IMAGE_BASE_TOKENS
AUDIO_TOKENS_PER_S = units.AUDIO_TOKENS_PER_S


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


def error_from_backend(exc: BaseException) -> JSONResponse:
    """A backend's failure as the HTTP error a provider would send (400, 503 or 500)."""
    if isinstance(exc, PromptTooLong):
        return error_response(400, exc.message, "context_length_exceeded")
    if isinstance(exc, UnreadableAttachment):
        return error_response(400, exc.message, "invalid_attachment")
    if isinstance(exc, BackendError):
        return error_response(400 if not exc.retryable else 503, exc.message)
    log.exception("stand-in generation failed", exc_info=exc)
    return error_response(500, "The stand-in model failed while answering.")


async def complete(first: Any, items: AsyncIterator[Any], parsed: ParsedRequest,
                   model_id: str, with_usage: bool = True) -> JSONResponse:
    """The whole answer as one chat.completion body (a request without `stream`)."""
    pieces: list[str] = []
    completion: Completion | None = None
    item = first
    while item is not END:
        if isinstance(item, BaseException):
            return error_from_backend(item)
        if isinstance(item, Completion):
            completion = item
        elif isinstance(item, str):
            pieces.append(item)
        item = await anext(items, END)
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


async def stream_chunks(first: Any, items: AsyncIterator[Any], parsed: ParsedRequest,
                        model_id: str, fault: Fault, generation: Generation
                        ) -> AsyncIterator[bytes]:
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
        while item is not END:
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
            item = await anext(items, END)
    finally:
        generation.cancel()
