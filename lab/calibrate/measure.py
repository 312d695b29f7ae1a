"""Ask the configured cloud the sampled turns again, resumably, never past the dollar cap.

The measurements file is an LCIO-Bench-like JSONL file: a header saying what was measured
where (source file, cloud identity, answer length, system prompt, scoring version; a resume
with other values is refused), then one `lab.bench.build.outcome_record` row per
(turn, cloud action), written and fsynced one whole line at a time by `build.RowWriter`,
and a ``spend`` row for any failed request that still cost something. A rerun skips every
key already there and counts what the file says was spent against the cap: `--max-usd` caps
the whole calibration, resumed runs included.

Before each request (retries included) the spend so far plus the request's worst case
(`lab.calibrate.spend`) must fit in the cap, else the run stops there, cleanly; after
it, the dollars the endpoint's usage says it cost are added. An error (after retries, time-outs
included) or an empty answer is a failure, not an outcome; three in a row stop the run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.bench.build import (
    ACTION_SPACE,
    RETRIES,
    PreparedTurn,
    RowWriter,
    check_header,
    outcome_key,
    outcome_record,
    read_rows,
    repair_tail,
    request_for,
)
from lab.calibrate.sample import SourceFile, prepare_dialogue
from lab.calibrate.spend import Estimate, SpendCap, estimate

log = logging.getLogger(__name__)

FORMAT = "lcio-bench-calibration"
COMPAT_FIELDS = ("format", "version", "source", "cloud", "max_new_tokens", "system_prompt",
                 "scoring_version")
MAX_FAILURES_IN_A_ROW = 3  # a bad key or model fails every request: stop instead of looping


@dataclass
class Job:
    """One (turn, cloud action) to ask, with its request and what it may cost."""

    key: str
    turn: PreparedTurn
    action: int
    request: Any
    cost: Estimate


@dataclass
class MeasureReport:
    planned: int = 0
    skipped: int = 0
    written: int = 0
    failed: int = 0
    stopped: str | None = None  # why the run ended early: "cap" or "errors"
    spent_before_usd: float = 0.0
    spent_usd: float = 0.0  # this run
    over_bound: int = 0  # requests that cost more than their bound (should be 0)
    stopped_before_usd: float = 0.0  # the bound of the request the cap did not allow
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def sampled_requests(source: SourceFile, keys: list[str], media_dir: Path, max_new_tokens: int,
                     actions_of: Callable[[str], list[int]]) -> Iterator[tuple[str, Any, int, Any]]:
    """(outcome key, turn, action, request) for each action `actions_of` names of each sampled
    turn, in sample order: one dialogue's media prepared once, each turn with its history."""
    system_prompt = source.header.get("system_prompt") or ""
    prepared: dict[str, list[PreparedTurn]] = {}
    for key in keys:
        row = source.turns[key]
        name, index = row["dialogue"], int(row["turn"])
        if name not in prepared:
            prepared[name] = prepare_dialogue(source, name, media_dir)
        turns = prepared[name]
        current = next(p for p in turns if p.index == index)
        history = [p for p in turns if p.index < index]
        for a in actions_of(key):
            request = request_for(history, current, ACTION_SPACE.actions[a], max_new_tokens,
                                  system_prompt=system_prompt)
            yield outcome_key(name, index, a), current, a, request


def plan(source: SourceFile, keys: list[str], media_dir: Path, max_new_tokens: int,
         model: str, prices: Any, settings: Any) -> list[Job]:
    """The requests the sampled turns make, in sample order, each with its cost estimate."""
    return [Job(k, current, a, request, estimate(request, model, prices, settings))
            for k, current, a, request in sampled_requests(source, keys, media_dir, max_new_tokens,
                                                           source.cloud_actions)]


def make_header(source: SourceFile, cloud: dict[str, Any], max_new_tokens: int,
                prices: Any) -> dict[str, Any]:
    h = source.header
    return {
        "type": "header", "format": FORMAT, "version": 1,
        "source": {"file": source.path.name, "version": h.get("version"),
                   "created_at": (h.get("measured") or {}).get("created_at"),
                   "scenario_version": h.get("scenario_version")},
        "cloud": {k: v for k, v in cloud.items() if k != "date"},
        "max_new_tokens": max_new_tokens,
        "system_prompt": h.get("system_prompt"),
        "scoring_version": h.get("scoring_version"),
        "judge": None,  # scored by the bench's rules, as the shipped file: no spend outside the cap
        "prices": {"table_version": prices.version, "table_updated": prices.updated},
        "measured": {"created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
    }


def read_measurements(path: Path, header: dict[str, Any] | None) -> tuple[dict[str, dict], float]:
    """Rows already measured (by key) and the dollars the file says were spent (nothing for
    a missing file); refuses a file measured under other conditions than `header`'s."""
    repair_tail(path)
    if not path.exists() or path.stat().st_size == 0:
        return {}, 0.0
    rows = read_rows(path)
    existing = next(rows)
    if existing.get("format") != FORMAT:
        raise SystemExit(f"{path} is not a calibration measurements file.")
    if header is not None:
        check_header(existing, header, path, COMPAT_FIELDS)
    done: dict[str, dict] = {}
    spent = 0.0
    for row in rows:
        spent += float((row.get("measured") or {}).get("cost_usd") or 0.0)
        if row.get("type") == "outcome":
            done[row["key"]] = row
    return done, spent


def measure(jobs: list[Job], path: Path, header: dict[str, Any], cloud: Any, cap: SpendCap,
            embed: Callable[[list[str]], list[list[float]]], progress: bool = True,
            retry_wait_s: float = 1.0) -> MeasureReport:
    """Ask every job not yet in `path`, in order, until done, the cap or repeated failures."""
    from tqdm import tqdm

    from backends.errors import BackendError, ModalityRefused

    started = time.perf_counter()
    done, spent_before = read_measurements(path, header)
    if not path.exists() or path.stat().st_size == 0:
        first = RowWriter(path)
        first.append(header)
        first.close()
    cap.add(spent_before)
    report = MeasureReport(planned=len(jobs), spent_before_usd=spent_before)
    todo = [j for j in jobs if j.key not in done]
    report.skipped = len(jobs) - len(todo)
    writer = RowWriter(path)
    bar = tqdm(total=len(jobs), initial=report.skipped, unit="answer", desc="calibrate",
               disable=not progress, dynamic_ncols=True)
    in_a_row = 0
    try:
        for job in todo:
            action = ACTION_SPACE.actions[job.action]
            for attempt in range(RETRIES + 1):
                if not cap.allows(job.cost.worst_usd):
                    report.stopped, report.stopped_before_usd = "cap", job.cost.worst_usd
                    return report
                try:
                    completion = cloud.generate(job.request)
                except ModalityRefused as exc:  # this cloud does not take it: a fact to record
                    writer.append(outcome_record(job.turn, job.action, action, None,
                                                 f"{type(exc).__name__}: {exc.message}", embed, None))
                    report.written += 1
                    break
                except BackendError as exc:
                    if exc.cost_usd:
                        writer.append({"type": "spend", "key": f"spend/{job.key}/{time.time_ns()}",
                                       "measured": {"cost_usd": exc.cost_usd}})
                        cap.add(exc.cost_usd)
                        report.spent_usd += exc.cost_usd
                    if exc.retryable and attempt < RETRIES:
                        time.sleep(retry_wait_s * (1 + attempt))
                        continue
                    report.failed += 1
                    report.errors.append(f"{job.key}: {type(exc).__name__}: {exc.message}")
                    in_a_row += 1
                    if in_a_row >= MAX_FAILURES_IN_A_ROW:
                        report.stopped = "errors"
                        return report
                    break
                cap.add(completion.cost_usd)
                report.spent_usd += completion.cost_usd
                if not completion.text.strip():  # billed, but nothing to learn from: a failure
                    writer.append({"type": "spend", "key": f"spend/{job.key}/{time.time_ns()}",
                                   "measured": {"cost_usd": completion.cost_usd}})
                    report.failed += 1
                    report.errors.append(f"{job.key}: the cloud gave an empty answer")
                    in_a_row += 1
                    if in_a_row >= MAX_FAILURES_IN_A_ROW:
                        report.stopped = "errors"
                        return report
                    break
                in_a_row = 0
                writer.append(outcome_record(job.turn, job.action, action, completion, None,
                                             embed, None))
                report.written += 1
                if completion.cost_usd > job.cost.worst_usd:
                    report.over_bound += 1
                    log.warning("%s cost $%.6f, over its bound $%.6f", job.key,
                                completion.cost_usd, job.cost.worst_usd)
                break
            bar.update(1)
            bar.set_postfix_str(f"${cap.spent_usd:.4f} of ${cap.max_usd:g}")
    finally:
        bar.close()
        writer.close()
        report.seconds = time.perf_counter() - started
    return report
