"""Which local model a dataset (and a policy trained on it) was measured with, and which one
is configured.

The policy's local quality, seconds and joules hold for the local model its dataset was
measured with; set `LCIO_LOCAL_MODEL` to another and they are wrong, so the page compares the
two (as `policies.cloud_identity` does for the cloud). An identity is a small dict:
``{"model": "SmolLM2-135M-Instruct", "quantization": "nf4"}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# A quantisation tag a GGUF file name carries ("...Instruct.Q4_K_M", "...-q4_k_m"): the same
# model as the name without it, since the app loads every local model in nf4 anyway.
_QUANT_TAG = re.compile(r"[._-](q\d[a-z0-9_]*|f16|bf16|f32)$")


def from_header(header: Mapping[str, Any]) -> dict[str, Any] | None:
    """The local model an LCIO-Bench file's local outcomes were measured with, if recorded."""
    local = (header.get("models") or {}).get("local") or {}
    if not local.get("model"):
        return None
    return {"model": str(local["model"]), "quantization": str(local.get("quantization") or "nf4")}


def configured(settings: Any) -> dict[str, Any]:
    """The local model `settings` load (`LCIO_LOCAL_MODEL`, else the embedded SmolLM2)."""
    from backends.models import model_name

    return {"model": model_name(settings.local_model), "quantization": "nf4"}


def base_name(name: Any) -> str:
    """A model's name without notes, file suffix or quantisation tag, in lower case:
    "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf" and "Qwen2.5-Coder-0.5B-Instruct" are one."""
    text = str(name or "").split("(", 1)[0].strip().lower().removesuffix(".gguf")
    return _QUANT_TAG.sub("", text)


def same_local(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Whether two identities name one local model (unknown matches nothing)."""
    if not a or not b:
        return False
    return bool(base_name(a.get("model"))) and base_name(a.get("model")) == base_name(b.get("model"))


def describe(identity: Mapping[str, Any] | None) -> str:
    if not identity:
        return "an unrecorded local model"
    return f"{identity.get('model')} ({identity.get('quantization') or 'nf4'})"
