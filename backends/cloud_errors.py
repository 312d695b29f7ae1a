"""The cloud SDK's exceptions as the project's named errors, with nothing secret in them.

Every message is one a person can act on ("check OPENAI_API_KEY", "answer locally"), and
whatever the endpoint said is scrubbed of the key, URL logins and anything key-like first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import openai

from backends.errors import (
    BackendError,
    CloudRateLimited,
    CloudRefused,
    CloudStreamDropped,
    CloudTimeout,
    CloudUnavailable,
    PromptTooLong,
)
from backends.redact import redact_text

_SECRETISH = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{4,}|Bearer\s+\S+)")


def scrub(text: str, secret: str | None = None) -> str:
    """Remove the key, any URL login and anything that looks like a key from text shown to
    people or logs."""
    return _SECRETISH.sub("[redacted]", redact_text(text, [secret] if secret else []))


def _server_message(exc: openai.APIError, secret: str | None) -> str:
    """The endpoint's own short explanation, scrubbed, or ''."""
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, Mapping) else None
    if not isinstance(message, str):
        return ""
    return scrub(message.strip(), secret)[:300]


def map_openai_error(
    exc: openai.OpenAIError,
    *,
    where: str,
    model: str,
    timeout_s: float,
    mid_stream: bool = False,
    secret: str | None = None,
) -> BackendError:
    """The SDK's exception -> a named error whose message a person can act on."""
    if isinstance(exc, openai.APITimeoutError):
        return CloudTimeout(f"The cloud model at {where} did not answer within {timeout_s:g} s.")
    if isinstance(exc, openai.APIConnectionError):
        if mid_stream:
            return CloudStreamDropped(
                f"The connection to {where} broke while the answer was streaming."
            )
        return CloudUnavailable(f"The cloud endpoint at {where} could not be reached.")
    if isinstance(exc, openai.RateLimitError):
        return CloudRateLimited(
            f"The cloud endpoint at {where} is rate-limiting requests (HTTP 429); try again "
            "shortly or answer locally."
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = _server_message(exc, secret)
        suffix = f" It said: {detail}" if detail else ""
        if status >= 500:
            return CloudUnavailable(
                f"The cloud endpoint at {where} had a server error (HTTP {status})."
            )
        if status in (401, 403):
            return CloudRefused(
                f"The cloud endpoint at {where} rejected the API key (HTTP {status}). Check "
                "OPENAI_API_KEY."
            )
        if status == 404:
            return CloudRefused(
                f"The cloud endpoint at {where} has no model {model!r} (HTTP 404). Check "
                "LCIO_CLOUD_MODEL and OPENAI_BASE_URL."
            )
        code = getattr(exc, "code", None)
        if code == "context_length_exceeded":
            return PromptTooLong(
                f"The conversation is too long for the cloud model {model!r}.{suffix}"
            )
        return CloudRefused(f"The cloud endpoint at {where} refused the request (HTTP {status}).{suffix}")
    if isinstance(exc, openai.APIError):  # an error event inside the stream
        return CloudUnavailable(f"The cloud endpoint at {where} failed while answering.")
    return CloudUnavailable(f"The cloud request to {where} failed ({type(exc).__name__}).")
