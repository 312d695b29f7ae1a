"""The two real backends a bench build answers with, and the LLM judge a real cloud offers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.bench.scoring import Judge


@dataclass
class Backends:
    """The two backends a build runs, and what the header says about them."""

    local: Any
    cloud: Any
    models: dict[str, Any]
    judge: Judge | None = None
    close: Any = None


class CloudJudge:
    """Asks a real cloud model to grade a free-text answer against the reference, 0-10."""

    PROMPT = ("Grade the ANSWER to the QUESTION against the REFERENCE answer. Reply with one "
              "integer from 0 (wrong or useless) to 10 (as good as the reference), nothing else."
              "\nQUESTION: {q}\nREFERENCE: {r}\nANSWER: {a}")

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.model = f"judge:{backend.model}"

    def __call__(self, question: str, reference: str, answer: str) -> float:
        import re

        from backends.types import ChatRequest, Message

        prompt = self.PROMPT.format(q=question, r=reference, a=answer)
        completion = self.backend.generate(
            ChatRequest([Message("user", prompt)], max_new_tokens=4, temperature=0.0))
        match = re.search(r"\d+", completion.text)
        return min(10, int(match.group())) / 10 if match else 0.0


def local_label(settings: Any, name: str) -> dict[str, Any]:
    """What a bench header says about the local model."""
    return {"model": name, "quantization": "nf4", "device": settings.local_device}


def standin_label(settings: Any) -> dict[str, Any]:
    """What a bench header says about the stand-in cloud (the model it serves, its delay)."""
    from backends.standin_model import choose_standin

    choice = choose_standin(settings)
    return {"kind": "standin", "model": settings.cloud_model, "endpoint": "127.0.0.1",
            "served_model": f"{choice.name} ({'nf4' if choice.quantize else 'bf16'})",
            "delay_s": settings.standin_delay_s}


def real_backends(max_new_tokens: int, load_local: bool = True) -> Backends:
    """The local nf4 backend and the cloud: the stand-in on 127.0.0.1 unless one is configured.
    `load_local=False` leaves the local model unloaded (it loads on first use), for callers
    that only ask the cloud."""
    import backends.cloud  # noqa: F401  (registers "cloud")
    import backends.local  # noqa: F401  (registers "local")
    from backends.base import BACKENDS
    from backends.config import get_settings

    settings = get_settings()
    close = None
    if settings.uses_standin:
        from backends.standin import ensure_standin, stop_standin

        url = ensure_standin(settings)  # started before timing anything
        close = stop_standin
        cloud_label: dict[str, Any] = {**standin_label(settings),
                                       "url_port": url.rsplit(":", 1)[-1].split("/")[0]}
    else:
        from backends.redact import redact_url

        # host:port only: a URL's netloc would carry a login (user:secret@host) into the file
        cloud_label = {"kind": "openai-compatible", "model": settings.cloud_model,
                       "endpoint": redact_url(settings.openai_base_url or
                                              "https://api.openai.com/v1")}
    local = BACKENDS["local"](settings)
    cloud = BACKENDS["cloud"](settings)
    if load_local:
        local.load()
    judge = None if settings.uses_standin else CloudJudge(cloud)
    models = {"local": local_label(settings, local.model_name),
              "cloud": {k: v for k, v in cloud_label.items() if k != "url_port"}}
    return Backends(local, cloud, models, judge, close)
