"""Build LCIO-Bench v2: every action of every turn answered with the stronger stand-in, resumably.

    python -m lab.bench.build_v2 [--out assets/bench/lcio-bench-v2.jsonl] [--limit N]
                                      [--batch 16]                   # 1: every answer, batched
    python -m lab.bench.build_v2 --retime [--timing-sample 12]  # 2: time them (quiet machine)

Same file format as v1 (`lab.bench.build`: header, turn and outcome rows, keyed and
resumable), with three differences:

- the dialogues are `scenarios_v2.generate_v2` (tasks where the choice of model matters);
- answers are at the app's own answer length (`Settings.max_new_tokens`, 256), so the costs and
  latencies a policy learns are the ones the app pays;
- answers are computed in batches (`lab.bench.batched`; cloud dollars priced from the
  stand-in's usage then), and in a second step (`--retime`) each side's time is fitted on a
  sample answered one at a time through the real path (`lab.bench.timing`): one
  ``timing`` row records the fit; each outcome's ``measured.timing`` says "measured" (a sample
  answer, whose row keeps its real timings and answer) or "modelled". ``measured.batched_same``
  on sampled rows says whether the batched answer was word for word the single one.

Outcome rows come in batch order, not turn order; readers key rows by (dialogue, turn, action).
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from backends.config import default_offline_env
from lab.bench.batched import Side, cloud_wire
from lab.bench.build import (
    ACTION_SPACE,
    DEFAULT_MEDIA,
    PreparedTurn,
    RowWriter,
    check_header,
    cold_perception_s,
    make_header,
    outcome_key,
    outcome_record,
    prepare,
    read_rows,
    real_backends,
    repair_tail,
    request_for,
    run_action,
    turn_key,
    turn_record,
    valid_actions,
)
from lab.bench.build_backends import local_label, standin_label
from lab.bench.scenarios_v2 import SCENARIO_VERSION_V2, generate_v2
from lab.bench.scoring import minilm_embed
from lab.bench.timing import Sample, TimingModel

DEFAULT_OUT_V2 = Path("assets/bench/lcio-bench-v2.jsonl")
FORMAT_VERSION_V2 = 2


@dataclass
class Job:
    turn: PreparedTurn
    action: int
    history: list[PreparedTurn]

    @property
    def key(self) -> str:
        return outcome_key(self.turn.dialogue.id, self.turn.index, self.action)

    @property
    def side(self) -> str:
        return ACTION_SPACE.actions[self.action].location


def jobs_for(prepared: Iterable[list[PreparedTurn]]) -> list[Job]:
    return [Job(p, a, turns[: p.index]) for turns in prepared for p in turns
            for a in valid_actions(len(p.attachments))]


class ColdPerception:
    """First-sight perception seconds per attachment, measured once per distinct file."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}

    def __call__(self, attachments: tuple[Any, ...]) -> list[float] | None:
        for a in attachments:
            if a.sha256 not in self.seen:
                self.seen[a.sha256] = (cold_perception_s((a,)) or [0.0])[0]
        return [self.seen[a.sha256] for a in attachments]


def header_v2(seed: int, max_new_tokens: int, models: dict[str, Any],
              limit: int | None = None) -> dict[str, Any]:
    header = make_header(seed, max_new_tokens, models, None)
    header.update(version=FORMAT_VERSION_V2, scenario_version=SCENARIO_VERSION_V2, limit=limit,
                  answers="greedy, computed in batches; timings fitted on single real answers "
                          "(lab/bench/timing.py)")
    return header


def measure_timing(jobs: list[Job], backends: Any, max_new: int,
                   per_side: int, seed: int) -> dict[str, Any]:
    """Answer `per_side` seeded jobs per side one at a time, the real way: key -> Completion."""
    rng = random.Random(seed)
    completions = {}
    for side in ("local", "cloud"):
        pool = sorted((j for j in jobs if j.side == side), key=lambda j: j.key)
        for job in rng.sample(pool, min(per_side, len(pool))):
            backend = backends.local if side == "local" else backends.cloud
            request = request_for(job.history, job.turn, ACTION_SPACE.actions[job.action], max_new)
            completion, error = run_action(backend, request)
            if completion is None:
                print(f"timing sample {job.key} failed: {error}", flush=True)
                continue
            completions[job.key] = completion
            print(f"timing {side} {job.key}: {completion.prompt_tokens}+"
                  f"{completion.completion_tokens} tokens, {completion.latency_s:.2f} s", flush=True)
    return completions


def models_label(settings: Any) -> dict[str, Any]:
    """What the header says about the two models (as `build.real_backends` does, unstarted)."""
    from backends.local import LocalBackend

    return {"local": local_label(settings, LocalBackend(settings).model_name),
            "cloud": standin_label(settings)}


def build_v2(out: Path, *, seed: int = 0, limit: int | None = None, batch: int = 16,
             media_dir: Path = DEFAULT_MEDIA) -> dict[str, Any]:
    """Phase 1: every missing answer, batched; cloud dollars now, timings by `retime`."""
    from tqdm import tqdm

    from backends.cloud import CloudBackend
    from backends.config import get_settings
    from backends.local import LocalBackend
    from backends.server import default_backend, usage_of

    started = time.perf_counter()
    settings = get_settings()
    max_new = settings.max_new_tokens
    dialogues = generate_v2(seed)[:limit] if limit else generate_v2(seed)
    prepared = [prepare(d, media_dir) for d in dialogues]
    header = header_v2(seed, max_new, models_label(settings), limit)
    repair_tail(out)
    done: set[str] = set()
    if out.exists() and out.stat().st_size:
        rows = read_rows(out)
        check_header(next(rows), header, out)
        done = {row["key"] for row in rows}
    writer = RowWriter(out)
    if out.stat().st_size == 0:
        writer.append(header)
    cold = ColdPerception()
    for turns in prepared:
        for p in turns:
            if turn_key(p.dialogue.id, p.index) not in done:
                writer.append(turn_record(p, media_dir, cold(p.attachments)))
    jobs = [j for j in jobs_for(prepared) if j.key not in done]
    cloud = CloudBackend(settings)
    bar = tqdm(total=len(jobs), unit="answer", desc="LCIO-Bench v2", dynamic_ncols=True)
    try:
        for side_name in ("local", "cloud"):
            todo = [j for j in jobs if j.side == side_name]
            if not todo:
                continue
            side = (Side(LocalBackend(settings)) if side_name == "local"
                    else Side(default_backend(settings), cloud_wire(cloud, settings)))
            prompts = {j.key: side.prompt(request_for(j.history, j.turn,
                                                      ACTION_SPACE.actions[j.action], max_new))
                       for j in todo}
            todo.sort(key=lambda j: (j.turn.turn.task, len(prompts[j.key].ids)))
            for i in range(0, len(todo), batch):
                group = todo[i:i + batch]
                for job, answer in zip(group, side.answer([prompts[j.key] for j in group]),
                                       strict=True):
                    prompt = prompts[job.key]
                    usage = usage_of(SimpleNamespace(prompt_tokens=answer.prompt_tokens,
                                                     completion_tokens=answer.completion_tokens),
                                     prompt.images, prompt.audio_s)
                    completion = SimpleNamespace(
                        text=answer.text, backend=side_name, model=None,
                        prompt_tokens=usage["prompt_tokens"] if side_name == "cloud"
                        else answer.prompt_tokens,
                        completion_tokens=answer.completion_tokens,
                        finish_reason=answer.finish_reason, attachments_used=[], ttft_s=0.0,
                        latency_s=0.0, perception_s=0.0, energy_j=0.0,
                        cost_usd=cloud.prices.cost(settings.cloud_model, usage, images=prompt.images)
                        if side_name == "cloud" else 0.0)
                    row = outcome_record(job.turn, job.action, ACTION_SPACE.actions[job.action],
                                         completion, None, minilm_embed, None)
                    row["model"] = header["models"][side_name].get("served_model") or \
                        header["models"][side_name]["model"]
                    row["measured"].update(timing="pending", images=prompt.images,
                                           audio_s=round(prompt.audio_s, 3))
                    writer.append(row)
                    bar.update(1)
    finally:
        bar.close()
        writer.close()
    return {"dialogues": len(dialogues), "turns": sum(len(t) for t in prepared),
            "answers_written": len(jobs), "seconds": round(time.perf_counter() - started, 1)}


def retime(out: Path, *, per_side: int = 12, seed: int = 0, media_dir: Path = DEFAULT_MEDIA,
           dialogues_for: Callable[[int], list[Any]] = generate_v2) -> dict[str, Any]:
    """Phase 2: time a seeded sample one at a time the real way, fit, and fill every row's time.

    Rewrites the file (atomically): sampled rows keep their real answer and timings
    (``timing: measured``, ``batched_same``), the others get the fit (``timing: modelled``).
    Run it on a quiet machine: the fit is only as good as the sample's conditions.
    `dialogues_for(seed)`: the generator the file was built from (v3 passes its own).
    """
    from backends.config import get_settings
    from backends.energy import energy_cost_usd

    settings = get_settings()
    rows = list(read_rows(out))
    header = rows[0]
    by_key = {r["key"]: r for r in rows[1:] if r["type"] == "outcome"}
    names = {r["dialogue"] for r in by_key.values()}
    dialogues = [d for d in dialogues_for(int(header["seed"])) if d.id in names]
    prepared = [prepare(d, media_dir) for d in dialogues]
    jobs = [j for j in jobs_for(prepared) if j.key in by_key]
    backends = real_backends(int(header["max_new_tokens"]))
    try:
        singles = measure_timing(jobs, backends, int(header["max_new_tokens"]), per_side, seed)
    finally:
        if backends.close is not None:
            backends.close()
    samples = [Sample(by_key[k]["location"], c.prompt_tokens, c.completion_tokens, c.ttft_s,
                      c.latency_s, c.energy_j) for k, c in singles.items()]
    timing = TimingModel.fit(samples)
    same = []
    for key, row in by_key.items():
        m = row["measured"]
        single = singles.get(key)
        if single is not None:
            same.append(single.text.strip() == row["answer"].strip())
            m.update(ttft_s=round(single.ttft_s, 4), latency_s=round(single.latency_s, 4),
                     energy_j=round(single.energy_j, 4), timing="measured", batched_same=same[-1])
            if row["location"] == "local":
                m["cost_usd"] = single.cost_usd
            continue
        t = timing.predict(row["location"], int(row["prompt_tokens"]), int(row["completion_tokens"]))
        energy = t["energy_j"] if row["location"] == "local" else 0.0
        m.update(ttft_s=round(t["ttft_s"], 4), latency_s=round(t["latency_s"], 4),
                 energy_j=round(energy, 4), timing="modelled")
        if row["location"] == "local":
            m["cost_usd"] = energy_cost_usd(energy, settings.electricity_usd_per_kwh)
    timing_row = {"type": "timing", "key": "timing", "fit": timing.to_json(),
                  "batched_same": f"{sum(same)}/{len(same)}",
                  "measured": {"created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}
    kept = [r for r in rows[1:] if r["type"] != "timing"]
    tmp = out.with_suffix(".retime.tmp")
    tmp.unlink(missing_ok=True)
    writer = RowWriter(tmp)
    for row in [header, timing_row, *kept]:
        writer.append(row)
    writer.close()
    os.replace(tmp, out)
    return {"fit": timing.to_json(), "batched_same": timing_row["batched_same"]}


def main(argv: list[str] | None = None) -> int:
    default_offline_env()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_V2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="first N dialogues only")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--retime", action="store_true",
                        help="phase 2: time a sample one at a time and fill in every row's timings")
    parser.add_argument("--timing-sample", type=int, default=12, help="single answers per side")
    parser.add_argument("--media-dir", type=Path, default=DEFAULT_MEDIA)
    args = parser.parse_args(argv)
    if args.retime:
        print(retime(args.out, per_side=args.timing_sample, seed=args.seed, media_dir=args.media_dir))
    else:
        print(build_v2(args.out, seed=args.seed, limit=args.limit, batch=args.batch,
                       media_dir=args.media_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
