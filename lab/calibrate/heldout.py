"""Does calibrating to the local model in use pay off? Play the shipped policy and a
calibrated one on held-out dialogues of the new pair, measured for real.

    LCIO_LOCAL_MODEL=... python -m lab.calibrate.heldout --policy CALIBRATED.json \
        --measurements /tmp/heldout.local.jsonl [--split-seed 0] [--dialogues 12]

The held-out dialogues are the 20 % test part of the bench's 80/20 split (`--split-seed`, as
`lab.bench_eval` draws it); calibrate with `--train-split-seed` set to the same seed so the
calibration never samples them (and trains on the 80 % only). Every local action of their
turns is asked of the configured local model (the app's `LocalBackend`, resumable, within
`--max-local-s`); their cloud outcomes stay the dataset's. Both policies then play those
dialogues on these outcomes, each with its own guard estimates, at several budget scales:
reward, quality and what they spent.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

from backends.config import default_offline_env

SCALES = (0.5, 1.0, 2.0)


def held_out_dialogues(path: Path, seed: int) -> set[str]:
    """Names of the dialogues in the test part of `seed`'s 80/20 split of the bench file."""
    from policies.bench.dataset import complete_dialogues, split

    _, test = split(complete_dialogues(path), seed)
    return {d[0].dialogue for d in test}


def truth_file(source: Any, names: list[str], measured: dict[str, dict], local: dict[str, Any],
               out: Path) -> list[str]:
    """Write the held-out dialogues with their local outcomes as measured (cloud outcomes as
    the source's); returns the dialogues written (those whose every local action was)."""
    header = copy.deepcopy(source.header)
    header["models"]["local"] = local
    lines, kept = [header], []
    for name in names:
        rows = source.dialogue(name)
        outcomes = [o for r in rows for o in source.outcomes_of(r["key"])]
        if any(o["location"] == "local" and o["key"] not in measured for o in outcomes):
            continue
        kept.append(name)
        for r in rows:
            lines.append(r)
            lines.extend(measured[o["key"]] if o["location"] == "local" else o
                         for o in source.outcomes_of(r["key"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(x, sort_keys=True) + "\n" for x in lines), encoding="utf-8")
    return kept


def play(policy_path: Path, dialogues: list, scales: tuple[float, ...]) -> dict[float, dict]:
    """A policy's summary on `dialogues` at each budget scale, its own guard estimates."""
    from lab.bench_eval import run_episode, scaled, summarise
    from policies.bench_policy import BenchEnv, BenchEnvConfig, BenchPlanner

    policy = BenchPlanner.load(policy_path)
    env = BenchEnv(dialogues, policy.classifier, policy.outcomes, BenchEnvConfig())
    return {s: summarise([run_episode(env, policy, i, scaled(s)) for i in range(len(dialogues))])
            for s in scales}


def table(results: dict[str, dict[float, dict]]) -> str:
    head = (f"{'policy':<34} {'budget':>6} {'reward':>7} {'quality':>8} {'$':>10} "
            f"{'seconds':>8} {'joules':>7} {'cloud':>6} {'refused':>8}")
    lines = [head, "-" * len(head)]
    for name, by_scale in results.items():
        for scale, m in by_scale.items():
            lines.append(f"{name:<34} {scale:>5g}x {m['reward']:7.3f} {m['quality']:8.3f} "
                         f"{m['usd']:10.6f} {m['latency_s']:8.1f} {m['energy_j']:7.0f} "
                         f"{m['cloud_share']:6.2f} {m['refused_share']:8.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    default_offline_env()
    from lab.bench.build import DEFAULT_MEDIA
    from policies.artifacts import APP_POLICY_PATH, BENCH_PATH

    ap = argparse.ArgumentParser(prog="python -m lab.calibrate.heldout", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=BENCH_PATH)
    ap.add_argument("--policy", type=Path, required=True, help="the calibrated policy")
    ap.add_argument("--shipped", type=Path, default=APP_POLICY_PATH)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--dialogues", type=int, default=None, help="at most N held-out dialogues")
    ap.add_argument("--measurements", type=Path, required=True,
                    help="resumable local measurements of the held-out turns")
    ap.add_argument("--max-local-s", type=float, default=3600.0)
    ap.add_argument("--media-dir", type=Path, default=DEFAULT_MEDIA)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    from backends.config import Settings
    from lab.bench.scoring import minilm_embed
    from lab.calibrate.local_run import local_backend
    from lab.calibrate.local_side import (
        TimeCap,
        make_local_header,
        measure_local,
        plan_local,
        read_local,
    )
    from lab.calibrate.sample import SourceFile
    from policies.bench.dataset import complete_dialogues

    settings = Settings()
    source = SourceFile.read(args.dataset)
    held = held_out_dialogues(args.dataset, args.split_seed)
    names = [n for n in dict.fromkeys(r["dialogue"] for r in source.turns.values()) if n in held]
    names = names[: args.dialogues] if args.dialogues else names
    keys = [r["key"] for n in names for r in source.dialogue(n)]
    from backends.errors import BackendError

    backend = local_backend(settings)
    try:
        backend.load()
    except BackendError as exc:
        print(f"The local model cannot be used: {exc.message}")
        return 2
    local = {"model": backend.model_name, "quantization": "nf4"}
    max_new = int(source.header.get("max_new_tokens") or settings.max_new_tokens)
    jobs = plan_local(source, keys, args.media_dir, max_new)
    header = make_local_header(source, local, max_new)
    print(f"Held out: {len(names)} dialogues ({len(keys)} turns, {len(jobs)} local answers) of "
          f"split seed {args.split_seed}; local model {local['model']}.")
    cap = TimeCap(args.max_local_s)
    result = measure_local(jobs, args.measurements, header, backend, cap, minilm_embed,
                           progress=not args.no_progress)
    print(f"Measured {result.written} local answers ({result.skipped} already there, "
          f"{result.failed} failed) in {result.seconds:.0f} s.")
    if result.stopped == "errors":
        print("Stopped: the local model failed; nothing to compare on.")
        return 3
    measured, _ = read_local(args.measurements, None)
    truth = args.measurements.with_name(f"{args.measurements.stem}.truth.jsonl")
    kept = truth_file(source, names, measured, local, truth)
    if not kept:
        print("No held-out dialogue is measured completely yet: rerun with a larger cap.")
        return 3
    dialogues = complete_dialogues(truth)
    results = {f"shipped ({args.shipped.name})": play(args.shipped, dialogues, SCALES),
               f"calibrated ({args.policy.name})": play(args.policy, dialogues, SCALES)}
    print(f"On {len(kept)} held-out dialogues ({sum(len(d) for d in dialogues)} turns), local "
          f"outcomes measured on {local['model']}, cloud outcomes the dataset's:")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps({"dialogues": kept, "local": local, "results": {
            k: {str(s): m for s, m in v.items()} for k, v in results.items()}}, indent=1))
    return 0 if len(kept) == len(names) else 3


if __name__ == "__main__":
    raise SystemExit(main())
