"""Speed of the local path on this machine: model load, nf4 decoding, perception per attachment.

Run: `.venv/bin/python -m benchmarks.local_speed` (prints JSON). Targets from
docs/offline-models.md on a 2-core CPU: nf4 ≈25 tok/s, OCR 1.4–2.3 s/image, Whisper ≈0.8 s
per 7 s clip. These are figures to watch, not assertions: a shared machine varies ±30 %.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

for _name, _value in {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}.items():
    os.environ.setdefault(_name, _value)


def main() -> dict[str, float]:
    from backends.config import Settings
    from backends.local import LocalBackend, shared_model
    from backends.perception import PerceptionCache, attachment_to_text
    from backends.types import Attachment, ChatRequest, Message
    from tests.media import sample_image, speech

    out: dict[str, float] = {}
    started = time.perf_counter()
    loaded = shared_model("", device="cpu")
    out["load_s"] = time.perf_counter() - started

    backend = LocalBackend(Settings(), model=loaded.model, tokenizer=loaded.tokenizer)
    backend.generate(ChatRequest([Message("user", "Hi")], max_new_tokens=4))  # warm-up
    request = ChatRequest([Message("user", "Write a short story about a cat.")], max_new_tokens=64)
    completion = backend.generate(request)
    decode_s = completion.latency_s - completion.ttft_s
    out["ttft_s"] = completion.ttft_s
    out["tokens_per_s"] = (completion.completion_tokens - 1) / decode_s if decode_s > 0 else 0.0
    out["energy_j_per_64_tokens"] = completion.energy_j

    with tempfile.TemporaryDirectory() as folder:
        media = Path(folder)
        cache = PerceptionCache(None)  # memory only: every first call really computes
        for label, path in (
            ("image_cat_s", sample_image("chelsea", media)),
            ("image_page_s", sample_image("page", media)),
            ("audio_s", speech("What is the capital of France?", media)),
        ):
            attachment = Attachment.from_path(path)
            attachment_to_text(attachment, cache)  # loads the models on first use
            cache = PerceptionCache(None)
            started = time.perf_counter()
            attachment_to_text(attachment, cache)
            out[label] = time.perf_counter() - started
    return {key: round(value, 3) for key, value in out.items()}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
