"""`LocalBackend.stream` against a bare `model.generate`, side by side in one run.

Why: the backend wraps `generate` in a worker thread, a `TextIteratorStreamer`, a stop
criterion, the stop-string trimmer and the energy clock; a person should pay nothing for that.
Each repeat runs, in a shuffled order, the same prompt ids with the same decoding arguments
(`LocalBackend.generate_kwargs`):
- `bare_main`: `model.generate` on the calling (main) thread;
- `bare_thread`: the same on a fresh worker thread, as the backend runs it;
- `stream`: `LocalBackend.stream`, timed from the request to its Completion (prompt
  templating and the window check included).
Tokens per second = new tokens / wall seconds of the whole call, so all three are measured
alike. The spread (max/min of the repeats) says how noisy the machine was.

Also: where the 4-bit matmuls run (bitsandbytes' optimised CPU kernel, which it fetches from
a model hub and so is absent offline, or its fallback) and their share of a generation's CPU.
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

PROMPT = "Explain in a few sentences why the sky is blue."


def _bare(backend: Any, kwargs: dict[str, Any], on_thread: bool) -> tuple[int, float, Any]:
    """(new tokens, wall seconds, output ids) of one bare `generate`."""
    import torch

    model = backend.load().model
    box: dict[str, Any] = {}

    def run() -> None:
        with torch.inference_mode():
            box["out"] = model.generate(**kwargs)

    started = time.perf_counter()
    if on_thread:
        worker = threading.Thread(target=run, name="bench-bare-generate")
        worker.start()
        worker.join()
    else:
        run()
    wall = time.perf_counter() - started
    out = box["out"]
    return out.shape[1] - kwargs["input_ids"].shape[1], wall, out


def _streamed(backend: Any, request: Any) -> tuple[int, float, Any]:
    """(new tokens, wall seconds, Completion) of one `LocalBackend.stream`."""
    started = time.perf_counter()
    *_, done = backend.stream(request)
    return done.completion_tokens, time.perf_counter() - started, done


def bare_text(backend: Any, output: Any, prompt_length: int) -> str:
    """What a bare generate's tokens read as, cut at the family's stop strings as the
    backend cuts them (the streamed text must equal this)."""
    from backends.decoding import StopTrimmer

    tokenizer = backend.load().tokenizer
    text = tokenizer.decode(output[0, prompt_length:], skip_special_tokens=True)
    trimmer = StopTrimmer(backend.decoding.stop)
    return trimmer.feed(text) + trimmer.finish()


def gemv_share(backend: Any, kwargs: dict[str, Any]) -> float:
    """Share of one generation's CPU time spent in bitsandbytes' 4-bit matmul (profiled on a
    worker thread, as the backend runs it)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    box: dict[str, float] = {}

    def run() -> None:
        with profile(activities=[ProfilerActivity.CPU]) as prof, torch.inference_mode():
            backend.load().model.generate(**kwargs)
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        gemv = sum(e.self_cpu_time_total for e in events if "gemv_4bit" in e.key)
        box["share"] = gemv / total if total else float("nan")

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    return box.get("share", float("nan"))


def optimised_kernel_loaded() -> bool | None:
    """True when bitsandbytes found its optimised CPU 4-bit kernel, None where it has none."""
    try:
        from bitsandbytes.backends.cpu import ops
    except ImportError:
        return None
    if not hasattr(ops, "gemm_4bit_forward_kernel"):
        return None
    return ops.gemm_4bit_forward_kernel is not None


def bench_streaming(backend: Any, tokens: int, repeats: int, seed: int = 0) -> dict[str, Any]:
    """Tokens/s of bare generate (main thread, worker thread) and of the backend's stream."""
    import torch

    from backends.types import ChatRequest, Message

    request = ChatRequest([Message("user", PROMPT)], max_new_tokens=tokens)
    _, ids, max_new, _ = backend.fit_to_window([{"role": "user", "content": PROMPT}], tokens)
    input_ids = torch.tensor([ids], dtype=torch.long, device=backend.load().device)
    kwargs = backend.generate_kwargs(request, input_ids, max_new)
    runs: dict[str, Callable[[], tuple[int, float, Any]]] = {
        "bare_main": lambda: _bare(backend, kwargs, on_thread=False),
        "bare_thread": lambda: _bare(backend, kwargs, on_thread=True),
        "stream": lambda: _streamed(backend, request),
    }
    for call in runs.values():
        call()  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in runs}
    counts: dict[str, int] = {}
    last: dict[str, Any] = {}
    order = list(runs)
    shuffle = random.Random(seed)
    for _ in range(repeats):
        shuffle.shuffle(order)
        for name in order:
            new, wall, last[name] = runs[name]()
            counts[name] = new
            rates[name].append(new / wall)
    med = {name: statistics.median(values) for name, values in rates.items()}
    return {
        "tokens_per_s": med,
        "spread": {name: max(v) / min(v) for name, v in rates.items()},
        "runs": rates,
        "new_tokens": counts,
        "same_text": last["stream"].text == bare_text(backend, last["bare_main"], len(ids)),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(libgomp default: spin)"),
        "torch_threads": torch.get_num_threads(),
        "optimised_4bit_kernel": optimised_kernel_loaded(),
        "gemv_4bit_cpu_share": gemv_share(backend, kwargs) if input_ids.device.type == "cpu"
        else None,
        "ratios": {
            "stream_over_bare_main": med["stream"] / med["bare_main"],
            "stream_over_bare_thread": med["stream"] / med["bare_thread"],
        },
    }


def print_streaming(result: dict[str, Any]) -> None:
    """The table `python -m lab.speed` prints for this part."""
    print(f"stream vs bare generate (OMP_WAIT_POLICY={result['omp_wait_policy']}, "
          f"torch threads {result['torch_threads']})")
    print(f"{'':<14}{'tok/s':>9}{'spread':>9}{'tokens':>8}")
    for name, rate in result["tokens_per_s"].items():
        print(f"{name:<14}{rate:>9.1f}{result['spread'][name]:>9.2f}{result['new_tokens'][name]:>8}")
    for name, value in result["ratios"].items():
        print(f"  {name} = {value:.2f}")
    print(f"  streamed text equals bare generate's: {result['same_text']}")
    kernel = result["optimised_4bit_kernel"]
    share = result["gemv_4bit_cpu_share"]
    print(f"  bitsandbytes optimised CPU 4-bit kernel loaded: {kernel}"
          + (f"; fallback gemv_4bit share of CPU: {share:.0%}" if share is not None else ""))
