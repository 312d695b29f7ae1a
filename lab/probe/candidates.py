"""The models the probe measures: the local model (the baseline) and each stand-in registry model.

A candidate resolves to a `load_model` reference plus what is known of its file (size, sha256,
licence). Registry models are joined and checked by `backends.standin_model.joined_gguf`, so
the probe measures exactly the file the stand-in would serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LOCAL_KEY = "smollm2-135m"


@dataclass(frozen=True)
class Candidate:
    key: str
    name: str
    ref: str  # "" = the embedded SmolLM2; else a GGUF path
    quantize: bool
    file: Path
    licence: str


def keys() -> list[str]:
    from backends.standin_model import specs

    return [LOCAL_KEY, *(spec.key for spec in specs())]


def resolve(key: str, cache_dir: Path) -> Candidate:
    """The candidate for `key`; registry parts are joined and checked (StandinModelError if not)."""
    from backends.models import EMBEDDED_MODEL_NAME, embedded_gguf_path
    from backends.standin_model import joined_gguf, specs

    if key == LOCAL_KEY:
        return Candidate(key, f"{EMBEDDED_MODEL_NAME} (local, nf4)", "", True,
                         embedded_gguf_path(), "Apache-2.0")
    for spec in specs():
        if spec.key == key:
            path = joined_gguf(spec, cache_dir)
            suffix = "nf4" if spec.quantize else "bf16"
            return Candidate(key, f"{spec.name} ({suffix})", str(path), spec.quantize, path,
                             spec.licence)
    raise KeyError(f"unknown candidate {key!r}; known: {', '.join(keys())}")
