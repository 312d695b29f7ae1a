"""Which cloud a dataset (and a policy trained on it) was measured on, and which one is set.

A policy's cloud quality and cost estimates hold for the cloud its dataset was measured on;
the page compares that with the configured cloud. An identity is a small dict:
``{"kind": "standin" | "openai-compatible", "model": ..., "endpoint": "host[:port]",
"date": "YYYY-MM-DD"}``: the endpoint is host and port only (`backends.redact.redact_url`),
never a login, a key, a path or a query.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backends.redact import redact_url

OPENAI_URL = "https://api.openai.com/v1"  # what the SDK uses when no base URL is set
STANDIN = "standin"


def _host(endpoint: str) -> str:
    """host[:port] of a recorded endpoint, whatever form it was recorded in (an older file
    may hold a URL's netloc, login included: only what follows the last '@' is kept)."""
    text = str(endpoint or "").strip()
    if "://" in text:
        return redact_url(text)
    return text.rsplit("@", 1)[-1].split("/", 1)[0]


def from_header(header: Mapping[str, Any]) -> dict[str, Any]:
    """The cloud an LCIO-Bench file's cloud outcomes were measured on (its header's
    ``models.cloud``), dated by its calibration or else by its creation."""
    cloud = (header.get("models") or {}).get("cloud") or {}
    measured = (header.get("measured") or {}).get("created_at") or ""
    date = (header.get("calibration") or {}).get("date") or measured[:10]
    out = {"kind": str(cloud.get("kind") or "unknown"), "model": str(cloud.get("model") or ""),
           "endpoint": _host(cloud.get("endpoint") or ""), "date": date}
    if cloud.get("served_model"):  # the stand-in says which model answered behind its name
        out["served_model"] = str(cloud["served_model"])
    return out


def configured(settings: Any, model: str | None = None) -> dict[str, Any]:
    """The cloud `settings` point at; `model` is the backend's resolved name when known."""
    if settings.uses_standin:
        return {"kind": STANDIN, "model": model or settings.cloud_model, "endpoint": "127.0.0.1"}
    return {"kind": "openai-compatible", "model": model or settings.cloud_model or "",
            "endpoint": redact_url(settings.openai_base_url or OPENAI_URL)}


def same_cloud(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two identities name one cloud: both the stand-in, or the same model (letter
    case aside; an unresolved, empty name matches any) at the same host and port. Two
    stand-ins are one cloud unless both name the model they serve and it differs."""
    if a.get("kind") == STANDIN or b.get("kind") == STANDIN:
        sa, sb = _base(a.get("served_model")), _base(b.get("served_model"))
        # two stand-ins differ only in the model they serve, when both are known
        return a.get("kind") == b.get("kind") and (not sa or not sb or sa in sb or sb in sa)
    ma, mb = str(a.get("model") or "").lower(), str(b.get("model") or "").lower()
    same_model = not ma or not mb or ma == mb
    return same_model and _host(a.get("endpoint", "")).lower() == _host(b.get("endpoint", "")).lower()


def _base(name: Any) -> str:
    """A served model's name without notes or file suffix: "SmolLM2-135M-Instruct (bf16)"
    and "smollm2-135m-instruct.gguf" are one model."""
    text = str(name or "").split("(", 1)[0].strip().lower()
    return text.removesuffix(".gguf")


def describe(identity: Mapping[str, Any]) -> str:
    """One line for people: "gpt-4o-mini via api.openai.com" or the stand-in's name."""
    if identity.get("kind") == STANDIN:
        served = identity.get("served_model")
        return "the project's stand-in" + (f" ({served})" if served else "")
    model = identity.get("model") or "the endpoint's first listed model"
    return f"{model} via {identity.get('endpoint') or 'an unrecorded endpoint'}"
