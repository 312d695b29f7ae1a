"""How long a stand-in answer takes alone and beside a local answer, per stand-in thread count.

    python -m lab.overlap [--tokens 48] [--threads 0,1] [--timeout 400]

On one small machine a cloud turn can overlap a local one: the stand-in child process then
shares the cores with the local model's generation. This starts the stand-in once per
`LCIO_STANDIN_THREADS` value (0: torch's default), times two answers alone, then two while
another process generates locally without pause, and prints the seconds and the slowdown.
An answer that does not finish within `--timeout` seconds is reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from backends.config import default_offline_env

default_offline_env()

QUESTION = "Explain why the sky is blue."
LOCAL_LOOP = """
from backends.config import Settings
from backends.local import LocalBackend
from backends.types import ChatRequest, Message
backend = LocalBackend(Settings())
backend.load()
print("ready", flush=True)
while True:
    backend.generate(ChatRequest([Message("user", "Tell me a long story about a cat.")],
                                 max_new_tokens=128))
"""


def _answer_seconds(client: Any, model: str, tokens: int, timeout_s: float) -> float | None:
    """Seconds for one answer of `tokens` tokens, or None when it ran past the timeout."""
    import openai

    started = time.perf_counter()
    try:
        client.with_options(timeout=timeout_s).chat.completions.create(
            model=model, messages=[{"role": "user", "content": QUESTION}],
            max_tokens=tokens, temperature=0.0)
    except openai.APITimeoutError:
        return None
    return time.perf_counter() - started


def measure(threads: int, tokens: int, timeout_s: float) -> dict[str, Any]:
    """Two answers alone, then two beside local generation, with the stand-in on `threads`."""
    import openai

    from backends.config import Settings
    from backends.standin import StandinServer

    os.environ["LCIO_STANDIN_THREADS"] = str(threads)
    with StandinServer(Settings(), mode="subprocess", delay_s=0.0) as server:
        client = openai.OpenAI(api_key="standin", base_url=server.base_url, max_retries=0)
        model = client.models.list().data[0].id
        _answer_seconds(client, model, tokens, timeout_s)  # warm-up
        alone = [_answer_seconds(client, model, tokens, timeout_s) for _ in range(2)]
        env = {k: v for k, v in os.environ.items() if k != "LCIO_STANDIN_THREADS"}
        local = subprocess.Popen([sys.executable, "-c", LOCAL_LOOP], stdout=subprocess.PIPE,
                                 text=True, env=env)
        try:
            local.stdout.readline()  # the local model is loaded and generating
            beside = [_answer_seconds(client, model, tokens, timeout_s) for _ in range(2)]
        finally:
            local.kill()
            local.wait()
    return {"threads": threads, "model": model, "alone_s": alone, "beside_local_s": beside}


def _show(seconds: list[float | None]) -> str:
    return " / ".join("timed out" if s is None else f"{s:.1f} s" for s in seconds)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--threads", default="0,1", help="LCIO_STANDIN_THREADS values to compare")
    parser.add_argument("--timeout", type=float, default=400.0, help="seconds per answer")
    args = parser.parse_args(argv)
    results = [measure(int(t), args.tokens, args.timeout) for t in args.threads.split(",")]
    for r in results:
        slowdown = ""
        if None not in r["alone_s"] + r["beside_local_s"]:
            slowdown = f", {sum(r['beside_local_s']) / sum(r['alone_s']):.1f}x slower beside"
        print(f"stand-in threads {r['threads'] or 'default'} ({r['model']}): alone "
              f"{_show(r['alone_s'])}; beside local generation {_show(r['beside_local_s'])}"
              f"{slowdown}")
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
