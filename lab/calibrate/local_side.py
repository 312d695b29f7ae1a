"""Ask the local model in use (the app's real `LocalBackend`, nf4) the sampled turns' local
actions again, resumably, never past the time cap.

Why: the policy's local quality, seconds and joules are the dataset's local model's; with
`LCIO_LOCAL_MODEL` set to another model they are wrong until measured. The sample, the
requests (reference history, the file's system prompt and answer length) and the scoring are
the cloud side's (`lab.calibrate.measure`), so both sides compare on the same turns.

The measurements file is the cloud side's format with its own header (``format``
"lcio-bench-local-calibration", the local model's identity); a resume with another model or
answer length is refused. Before each request the seconds spent so far (resumed runs
included) plus the slowest answer seen so far must fit in `--max-local-s`, else the run
stops there, cleanly. An error other than a prompt too long for the model's window, or an
empty answer, is a failure: not written, and three in a row stop the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.bench.build import (
    ACTION_SPACE,
    PreparedTurn,
    RowWriter,
    check_header,
    outcome_record,
    read_rows,
    repair_tail,
)
from lab.calibrate.measure import MAX_FAILURES_IN_A_ROW, MeasureReport, sampled_requests
from lab.calibrate.sample import SourceFile

FORMAT = "lcio-bench-local-calibration"
COMPAT_FIELDS = ("format", "version", "source", "local", "max_new_tokens", "system_prompt",
                 "scoring_version")


@dataclass
class LocalJob:
    """One (turn, local action) to ask the local model."""

    key: str
    turn: PreparedTurn
    action: int
    request: Any


class TimeCap:
    """Seconds the local side has spent against its cap; a request starts only if the
    slowest answer seen so far still fits (nothing is known to bound it better)."""

    def __init__(self, max_s: float, spent_s: float = 0.0) -> None:
        self.max_s = max_s
        self.spent_s = spent_s
        self.slowest_s = 0.0

    def allows(self) -> bool:
        return self.spent_s + self.slowest_s < self.max_s

    def add(self, seconds: float) -> None:
        self.spent_s += max(0.0, seconds)
        self.slowest_s = max(self.slowest_s, seconds)


def local_actions(source: SourceFile, key: str) -> list[int]:
    """The local actions the file measured for a turn (what is asked again)."""
    return [int(r["action"]) for r in source.outcomes_of(key) if r["location"] == "local"]


def plan_local(source: SourceFile, keys: list[str], media_dir: Path,
               max_new_tokens: int) -> list[LocalJob]:
    """The local requests of the sampled turns, in sample order."""
    return [LocalJob(k, current, a, request)
            for k, current, a, request in sampled_requests(
                source, keys, media_dir, max_new_tokens, lambda key: local_actions(source, key))]


def make_local_header(source: SourceFile, local: dict[str, Any], max_new_tokens: int) -> dict[str, Any]:
    h = source.header
    return {
        "type": "header", "format": FORMAT, "version": 1,
        "source": {"file": source.path.name, "version": h.get("version"),
                   "created_at": (h.get("measured") or {}).get("created_at")},
        "local": local,
        "max_new_tokens": max_new_tokens,
        "system_prompt": h.get("system_prompt"),
        "scoring_version": h.get("scoring_version"),
        "measured": {"created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
    }


def read_local(path: Path, header: dict[str, Any] | None) -> tuple[dict[str, dict], float]:
    """Rows already measured (by key) and the seconds they took; refuses a file measured
    under other conditions than `header`'s."""
    repair_tail(path)
    if not path.exists() or path.stat().st_size == 0:
        return {}, 0.0
    rows = read_rows(path)
    existing = next(rows)
    if existing.get("format") != FORMAT:
        raise SystemExit(f"{path} is not a local calibration measurements file.")
    if header is not None:
        check_header(existing, header, path, COMPAT_FIELDS)
    done = {row["key"]: row for row in rows if row.get("type") == "outcome"}
    spent = sum(float((r.get("measured") or {}).get("wall_s") or 0.0) for r in done.values())
    return done, spent


def measure_local(jobs: list[LocalJob], path: Path, header: dict[str, Any], backend: Any,
                  cap: TimeCap, embed: Callable[[list[str]], list[list[float]]],
                  progress: bool = True) -> MeasureReport:
    """Ask every job not yet in `path`, in order, until done, the cap or repeated failures."""
    from tqdm import tqdm

    from backends.errors import BackendError, PromptTooLong

    started = time.perf_counter()
    done, spent_before = read_local(path, header)
    if not path.exists() or path.stat().st_size == 0:
        first = RowWriter(path)
        first.append(header)
        first.close()
    cap.add(spent_before)
    cap.slowest_s = max((float(r["measured"].get("wall_s") or 0.0) for r in done.values()),
                        default=0.0)
    todo = [j for j in jobs if j.key not in done]
    report = MeasureReport(planned=len(jobs), skipped=len(jobs) - len(todo))
    writer = RowWriter(path)
    bar = tqdm(total=len(jobs), initial=report.skipped, unit="answer", desc="calibrate local",
               disable=not progress, dynamic_ncols=True)
    in_a_row = 0
    try:
        for job in todo:
            if not cap.allows():
                report.stopped = "cap"
                return report
            action = ACTION_SPACE.actions[job.action]
            t0 = time.perf_counter()
            completion, error = None, None
            try:
                completion = backend.generate(job.request)
            except PromptTooLong as exc:  # the model's window is a fact about it: recorded
                error = f"{type(exc).__name__}: {exc.message}"
            except BackendError as exc:
                error = f"{type(exc).__name__}: {exc.message}"
                completion = None
            wall = time.perf_counter() - t0
            cap.add(wall)
            failed = (completion is None and not (error or "").startswith("PromptTooLong")) or (
                completion is not None and not completion.text.strip())
            if failed:
                report.failed += 1
                report.errors.append(f"{job.key}: {error or 'the local model gave an empty answer'}")
                in_a_row += 1
                if in_a_row >= MAX_FAILURES_IN_A_ROW:
                    report.stopped = "errors"
                    return report
                bar.update(1)
                continue
            in_a_row = 0
            row = outcome_record(job.turn, job.action, action, completion, error, embed, None)
            row["measured"]["wall_s"] = round(wall, 4)
            writer.append(row)
            report.written += 1
            bar.update(1)
            bar.set_postfix_str(f"{cap.spent_s:.0f} s of {cap.max_s:g} s")
    finally:
        bar.close()
        writer.close()
        report.seconds = time.perf_counter() - started
    return report
