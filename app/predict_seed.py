"""What a fresh app tells the turn predictor before its first turn, measured, not assumed.

`app.predict.CostPredictor` learns each path from the turns it serves; before the first one
it has only hand-set priors, and the first turn of a fresh app paid the path's one-time
costs (its first forward pass, the connection), which the first-token fit then carried for
several turns. So `Runtime.warm_up`, once the models are loaded, times each path here:

- three tiny requests per path: a short one that pays the one-time costs (discarded), the
  same again (time to the first token of a short prompt, seconds per generated token), and
  a long prompt answered in two tokens (its extra first-token time over the short one's,
  per extra prompt token: the prompt-reading speed);
- a typical answer length per path from LCIO-Bench v2 (`assets/bench/lcio-bench-v2.jsonl`,
  the median of the answers its outcome rows record), used only where the bench's model is
  the one this app serves (the stand-in's served model, or the cloud's model name).

It runs in the warm-up thread after the page is up: about 3 s (local) and 8 s (the stand-in)
on a quiet 2-core machine, far longer under load (docs/results.md). A cloud that bills (anything but
the stand-in) is not probed unless asked: `LCIO_START_PROBE=auto` (default) probes the local
model and the stand-in, `1` every path (a real cloud then bills about 650 prompt and 50 answer
tokens per start), `0` none; an unprobed path keeps its priors until its first turns.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.predict import CostPredictor
from backends.base import Backend
from backends.config import Settings
from backends.types import ChatRequest, Completion, Message

log = logging.getLogger(__name__)

BENCH = Path(__file__).resolve().parents[1] / "assets" / "bench" / "lcio-bench-v2.jsonl"
SHORT_PROMPT = "Count from one to thirty in words, separated by commas."
SHORT_TOKENS = 24  # enough to time the decoding; a fraction of a second to a few seconds
LONG_PROMPT = ("Here is a passage to read before the question. "
               + "The river ran past the old mill, and the miller counted the sacks of flour. " * 30
               + "Reply with the single word OK.")
LONG_TOKENS = 2
PROBE_TIME_S = 60.0  # a path slower than this is left to its priors


@dataclass(frozen=True)
class PathTiming:
    """One path's measured speed: what `CostPredictor.seed` takes, and what it cost to learn."""

    ttft_s: float  # first token of the short prompt
    prompt_tokens: int  # the short prompt's tokens
    s_per_prompt_token: float  # extra first-token time per extra prompt token (long vs short)
    s_per_token: float  # decoding
    probe_s: float  # wall time of the three requests


def answer(backend: Backend, text: str, tokens: int) -> Completion:
    """One request to `backend`, streamed to the end; its Completion."""
    return backend.generate(ChatRequest([Message("user", text)], max_new_tokens=tokens,
                                        time_left_s=PROBE_TIME_S))


def measure_path(backend: Backend) -> PathTiming:
    """Time `backend` on the three probe requests (module docstring)."""
    started = time.perf_counter()
    answer(backend, SHORT_PROMPT, SHORT_TOKENS)  # pays the one-time costs
    short = answer(backend, SHORT_PROMPT, SHORT_TOKENS)
    long = answer(backend, LONG_PROMPT, LONG_TOKENS)
    return timing_from(short, long, time.perf_counter() - started)


def timing_from(short: Completion, long: Completion, probe_s: float = 0.0) -> PathTiming:
    """The path's speed from a short answer and a long prompt's first token."""
    ttft = min(short.ttft_s, short.latency_s)
    rate = (short.latency_s - ttft) / (short.completion_tokens - 1) if short.completion_tokens > 1 else 0.0
    extra = long.prompt_tokens - short.prompt_tokens
    reading = (min(long.ttft_s, long.latency_s) - ttft) / extra if extra > 0 else 0.0
    return PathTiming(ttft, short.prompt_tokens, max(0.0, reading), rate, probe_s)


def bench_answer_tokens(model: str, location: str, path: Path = BENCH) -> float | None:
    """Median answer length (tokens) of `location`'s answers in the bench file, if the bench's
    model there is `model`; None when it is another model or the file is missing."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    lengths: list[int] = []
    for line in lines:
        row = json.loads(line)
        if row.get("type") == "header":
            bench_model = row.get("models", {}).get(location, {})
            if model not in (bench_model.get("served_model"), bench_model.get("model")) or not model:
                return None
        elif row.get("type") == "outcome" and row.get("location") == location \
                and row.get("finish_reason") in ("stop", "length"):
            lengths.append(int(row["completion_tokens"]))
    return float(statistics.median(lengths)) if lengths else None


def served_model(backend: Backend, location: str, settings: Settings) -> str:
    """The model that really answers on `location` (the stand-in's served one, not its alias)."""
    if location == "local":
        return backend.model_name
    if settings.uses_standin:
        from app.calibration import standin_served

        return standin_served(backend.endpoint, settings)
    return backend.model_name or settings.cloud_model


def probed(location: str, settings: Settings, mode: str | None = None) -> bool:
    """Whether `location` is timed at start (`LCIO_START_PROBE`: auto, 1 or 0; module doc)."""
    mode = (os.environ.get("LCIO_START_PROBE") or "auto") if mode is None else mode
    if mode in ("0", "1"):
        return mode == "1"
    return location == "local" or settings.uses_standin  # never bill a real cloud unasked


def seed_predictor(predictor: CostPredictor, backends: dict[str, Backend], settings: Settings,
                   probe: bool | None = None, bench: Path = BENCH) -> dict[str, dict[str, Any]]:
    """Measure each path (where `probe`, else `probed`, says so, and the path has not served
    turns already) and seed the predictor; what was measured, per path. A path that fails to
    answer keeps its priors."""
    seeded: dict[str, dict[str, Any]] = {}
    for location, backend in backends.items():
        out: dict[str, Any] = {}
        try:
            out["answer_tokens"] = bench_answer_tokens(served_model(backend, location, settings),
                                                       location, bench)
            # A path that has served turns already taught more than a probe would (and the
            # probe would make its next turn wait).
            wanted = probed(location, settings) if probe is None else probe
            timing = measure_path(backend) if wanted and not predictor.turns(location) else None
        except Exception as exc:  # a path that cannot answer now is reported by its turns
            log.warning("measuring the %s path at start failed: %s", location, exc)
            timing = None
        if timing is not None:
            out.update(asdict(timing))
            predictor.seed(location, ttft_s=timing.ttft_s, prompt_tokens=timing.prompt_tokens,
                           s_per_prompt_token=timing.s_per_prompt_token,
                           s_per_token=timing.s_per_token, answer_tokens=out.get("answer_tokens"))
        else:
            predictor.seed(location, answer_tokens=out.get("answer_tokens"))
        log.info("turn predictor seeded for the %s path: %s", location, out)
        seeded[location] = out
    return seeded
