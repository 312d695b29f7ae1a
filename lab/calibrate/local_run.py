"""The local side of `python -m lab.calibrate`: load the app's local model (whatever
`LCIO_LOCAL_MODEL` names, in nf4), say what will be asked, ask it within `--max-local-s`,
and report per task how the local answers moved from the dataset's local model to this one.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.calibrate.local_side import TimeCap


def slug(model: str) -> str:
    """A model's name as a file name part."""
    return re.sub(r"[^a-z0-9._-]+", "-", model.lower()).strip("-.") or "model"


def local_backend(settings: Any) -> Any:
    """The app's real local backend (a seam for tests, which hand in a tiny model)."""
    from backends.local import LocalBackend

    return LocalBackend(settings)


@dataclass
class LocalRun:
    path: Path
    identity: dict[str, Any]
    result: Any
    cap: TimeCap

    def side(self) -> Any:
        from lab.calibrate.compose import Side
        from lab.calibrate.local_side import read_local

        measured, _ = read_local(self.path, None)
        return Side("local", measured, self.identity)


def run_local(args: argparse.Namespace, settings: Any, source: Any, keys: list[str],
              max_new: int, alone: bool) -> LocalRun | None:
    """Measure the sampled turns' local actions; None when the local model cannot load."""
    from backends.errors import BackendError
    from lab.bench.scoring import minilm_embed
    from lab.calibrate.local_side import make_local_header, measure_local, plan_local, read_local

    backend = local_backend(settings)
    try:
        backend.load()
    except BackendError as exc:
        print(f"The local model cannot be used: {exc.message}")
        return None
    identity = {"model": backend.model_name, "quantization": "nf4"}
    out = args.out or args.dataset.with_name(
        f"{args.dataset.stem}.calibrated-{slug(identity['model'])}.jsonl")
    path = out.with_name(f"{out.stem}.local-measurements.jsonl")
    jobs = plan_local(source, keys, args.media_dir, max_new)
    header = make_local_header(source, identity, max_new)
    done, spent = read_local(path, header)
    was = (source.header.get("models") or {}).get("local", {}).get("model", "unrecorded")
    print(f"Local model {identity['model']} (nf4, was {was}): {len(keys)} of "
          f"{len(source.turns)} turns{' (no cloud asked)' if alone else ''}, {len(jobs)} local "
          f"answers of at most {max_new} tokens; {len(jobs) - len([j for j in jobs if j.key in done])}"
          f" left, {spent:.0f} s already spent; cap {args.max_local_s:g} s.")
    cap = TimeCap(args.max_local_s)
    if args.dry_run:
        return LocalRun(path, identity, None, cap)
    result = measure_local(jobs, path, header, backend, cap, minilm_embed,
                           progress=not args.no_progress)
    print(f"Measured {result.written} local answers this run ({result.skipped} already there, "
          f"{result.failed} failed) in {result.seconds:.1f} s; {cap.spent_s:.0f} s in all "
          f"(cap {args.max_local_s:g} s).")
    for error in result.errors[-3:]:
        print(f"  failed: {error}")
    if result.stopped == "cap":
        print(f"Stopped at the time cap: the next answer could take {cap.slowest_s:.1f} s and "
              f"{max(0.0, cap.max_s - cap.spent_s):.1f} s are left. Rerun with a larger "
              "--max-local-s to go on from here.")
    elif result.stopped == "errors":
        print("Stopped: the local model failed (errors or empty answers, see above); nothing "
              "is trained or installed. Check LCIO_LOCAL_MODEL and rerun.")
    return LocalRun(path, identity, result, cap)


def local_table(source: Any, measured: dict[str, dict]) -> str:
    """Per task: measured turns / turns, then dataset's local model -> this one."""
    from lab.calibrate.compose import fit_factors, measured_turns

    turns = measured_turns(source, measured, "local")
    per_task, pooled = fit_factors(source, measured, turns, "local")
    done = set(turns)
    counts: dict[str, list[int]] = {}
    for key, row in source.turns.items():
        c = counts.setdefault(row["task"], [0, 0])
        c[0] += key in done
        c[1] += 1
    head = f"{'task':<12} {'measured':>9}  {'local score':>15}  {'s per answer':>15}  {'J per answer':>15}"
    lines = [head, "-" * len(head)]
    rows = [(t, c, per_task.get(t)) for t, c in sorted(counts.items())]
    rows.append(("all", [len(turns), len(source.turns)], pooled))
    for task, (n, total), f in rows:
        if f is None:
            lines.append(f"{task:<12} {n:>4}/{total:<4}  (no measured answer: pooled factors)")
            continue
        lines.append(f"{task:<12} {n:>4}/{total:<4}  {f.quality_source:.3f} -> {f.quality_new:.3f}  "
                     f"{f.latency_source:6.2f} -> {f.latency_new:6.2f}  "
                     f"{f.energy_source:6.1f} -> {f.energy_new:6.1f}")
    return "\n".join(lines)
