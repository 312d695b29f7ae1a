"""`python -m lab.calibrate`: fit the app's policy to the cloud configured in the
environment (OPENAI_API_KEY / OPENAI_BASE_URL / LCIO_CLOUD_MODEL) and to the local model in
use (LCIO_LOCAL_MODEL), in one command.

Steps: sample `--share` of the dataset's turns (stratified by task, seeded), print what
asking them again should cost, ask the cloud every cloud action of those turns (never past
`--max-usd`; resumable) and the local model every local action (never past `--max-local-s`;
resumable), write the calibrated dataset (`lab.calibrate.compose`), print per-task quality
and cost against the source file's, side by side, then train the app's policy on it with
the shipped recipe (`python -m lab.train --seed 0 --split all`). With no cloud configured
only the local side is measured (`--sides` chooses).

Exit status: 0 when every sampled request was measured, 3 when the run stopped early (a cap,
or repeated failures: errors, time-outs or empty answers; after failures nothing is
trained or installed), 2 when nothing can be done (no cloud configured, bad arguments).
"""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.config import default_offline_env

EXIT_EARLY = 3


def _slug(model: str) -> str:
    from lab.calibrate.local_run import slug

    return slug(model)


def parse(argv: list[str] | None) -> argparse.Namespace:
    from lab.bench.build import DEFAULT_MEDIA
    from policies.artifacts import BENCH_PATH

    ap = argparse.ArgumentParser(prog="python -m lab.calibrate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=BENCH_PATH, help="an LCIO-Bench file")
    ap.add_argument("--share", type=float, default=0.2, help="share of turns to ask again")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sample")
    ap.add_argument("--limit", type=int, default=None, help="at most N sampled turns")
    ap.add_argument("--max-usd", type=float, default=1.0,
                    help="dollar cap of the whole calibration, resumed runs included")
    ap.add_argument("--sides", choices=["both", "cloud", "local"], default="both",
                    help="what to measure again (default both; local only when no cloud is set)")
    ap.add_argument("--max-local-s", type=float, default=3600.0,
                    help="cap on the local model's seconds, resumed runs included")
    ap.add_argument("--train-split-seed", type=int, default=None,
                    help="sample only the training dialogues of this seed's 80/20 split, so "
                         "its 20 %% stay held out (`python -m lab.calibrate.heldout`)")
    ap.add_argument("--max-new-tokens", type=int, default=None,
                    help="answer length (default: the dataset's, so scores compare)")
    ap.add_argument("--out", type=Path, default=None,
                    help="calibrated dataset (default: beside the dataset, "
                         "<name>.calibrated-<model>.jsonl)")
    ap.add_argument("--measurements", type=Path, default=None,
                    help="resumable measurements (default: <out>.measurements.jsonl)")
    ap.add_argument("--policy-out", type=Path, default=None,
                    help="trained policy (default: assets/policy/rcrl-bench.calibrated-<model>.json)")
    ap.add_argument("--install", action="store_true",
                    help="also copy the policy over the app's (assets/policy/rcrl-bench.json)")
    ap.add_argument("--no-train", action="store_true", help="measure and write the dataset only")
    ap.add_argument("--dry-run", action="store_true", help="print the plan and its cost, ask nothing")
    ap.add_argument("--media-dir", type=Path, default=DEFAULT_MEDIA)
    ap.add_argument("--no-progress", action="store_true")
    return ap.parse_args(argv)


def _table(rows: list[tuple[str, int, int, Any]]) -> str:
    head = (f"{'task':<12} {'measured':>9}  {'cloud score':>15}  {'$ per answer':>23}  "
            f"{'s per answer':>13}")
    lines = [head, "-" * len(head)]
    for task, n, total, f in rows:
        if f is None:
            lines.append(f"{task:<12} {n:>4}/{total:<4}  (no measured answer: pooled factors)")
            continue
        lines.append(f"{task:<12} {n:>4}/{total:<4}  {f.quality_source:.3f} -> {f.quality_new:.3f}  "
                     f"{f.usd_source:.7f} -> {f.usd_new:.7f}  "
                     f"{f.latency_source:5.2f} -> {f.latency_new:5.2f}")
    return "\n".join(lines)


def report_table(source: Any, measured: dict[str, dict], side: str = "cloud") -> str:
    """Per task: measured turns / turns, then source -> configured model on the same pairs."""
    from lab.calibrate.compose import fit_factors, measured_turns

    turns = measured_turns(source, measured, side)
    per_task, pooled = fit_factors(source, measured, turns, side)
    counts: dict[str, list[int]] = {}
    done = set(turns)
    for key, row in source.turns.items():
        c = counts.setdefault(row["task"], [0, 0])
        c[0] += key in done
        c[1] += 1
    rows = [(t, c[0], c[1], per_task.get(t)) for t, c in sorted(counts.items())]
    rows.append(("all", len(turns), len(source.turns), pooled))
    return _table(rows)


def main(argv: list[str] | None = None) -> int:
    default_offline_env()
    args = parse(argv)
    from backends.config import Settings

    settings = Settings()
    if settings.uses_standin and args.sides == "cloud":
        print("No cloud is configured: set OPENAI_BASE_URL and/or OPENAI_API_KEY (and "
              "LCIO_CLOUD_MODEL) to the cloud to calibrate for. The shipped policy is already "
              "calibrated for the project's stand-in.")
        return 2
    if settings.uses_standin and args.sides == "both":
        print("No cloud is configured: measuring the local model only; the cloud outcomes "
              "stay the dataset's (the project's stand-in).")
        args.sides = "local"
    if not 0 < args.share <= 1 or args.max_usd < 0 or args.max_local_s < 0:
        print("--share must be in (0, 1], --max-usd and --max-local-s at least 0.")
        return 2
    return run(args, settings)


def sampled_keys(source: Any, args: argparse.Namespace) -> list[str]:
    """The seeded, task-stratified sample; only training dialogues with --train-split-seed."""
    from lab.calibrate.sample import select

    held_out: set[str] = set()
    if args.train_split_seed is not None:
        from lab.calibrate.heldout import held_out_dialogues

        held_out = held_out_dialogues(source.path, args.train_split_seed)
    # turns with answers to compare with (a file still being built has turns without)
    measurable = [t for t in source.turns.values()
                  if source.outcomes_of(t["key"]) and t["dialogue"] not in held_out]
    return select(measurable, args.share, args.seed, args.limit)


def run(args: argparse.Namespace, settings: Any) -> int:
    from lab.calibrate.sample import SourceFile
    from policies import cloud_identity as identity

    source = SourceFile.read(args.dataset)
    keys = sampled_keys(source, args)
    max_new = args.max_new_tokens or int(source.header.get("max_new_tokens") or settings.max_new_tokens)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    cloud_side: CloudRun | None = None
    who = {**identity.from_header(source.header), "date": today}
    if args.sides in ("both", "cloud"):
        ran = run_cloud(args, settings, source, keys, max_new)
        if isinstance(ran, int):
            return ran
        cloud_side, who = ran, ran.who
    local_side = None
    if args.sides in ("both", "local"):
        from lab.calibrate.local_run import run_local

        local_side = run_local(args, settings, source, keys, max_new, cloud_side is None)
        if local_side is None:
            return 2
    if args.dry_run:
        return 0
    return finish(args, source, cloud_side, local_side, who)


@dataclass
class CloudRun:
    """What the cloud side measured: where, on which cloud, how it ended."""

    measurements: Path
    who: dict[str, Any]
    result: Any
    cap: Any


def default_out(args: argparse.Namespace, names: list[str]) -> Path:
    slug = "+".join(_slug(n) for n in names)
    return args.out or args.dataset.with_name(f"{args.dataset.stem}.calibrated-{slug}.jsonl")


def run_cloud(args: argparse.Namespace, settings: Any, source: Any, keys: list[str],
              max_new: int) -> CloudRun | int:
    """Ask the configured cloud the sampled turns (the dollar-capped, resumable side)."""
    from backends.cloud import CloudBackend
    from backends.errors import BackendError
    from backends.pricing import load_prices
    from backends.redact import redact_logs, url_secrets
    from lab.bench.scoring import minilm_embed
    from lab.calibrate.measure import make_header, measure, plan, read_measurements
    from lab.calibrate.spend import SpendCap
    from policies import cloud_identity as identity

    key = settings.openai_api_key
    redact_logs([key.get_secret_value() if key else "", *url_secrets(settings.openai_base_url)])
    cloud = CloudBackend(settings)
    try:
        cloud.load()  # resolves the model name when the endpoint is given none
    except BackendError as exc:
        print(f"The cloud cannot be used: {exc.message}")
        return 2
    model = cloud.model
    prices = load_prices(settings.price_table)
    who = {**identity.configured(settings, model), "date": time.strftime("%Y-%m-%d", time.gmtime())}
    out = default_out(args, [model])
    measurements = args.measurements or out.with_name(f"{out.stem}.measurements.jsonl")
    jobs = plan(source, keys, args.media_dir, max_new, model, prices, settings)
    header = make_header(source, who, max_new, prices)
    done, spent = read_measurements(measurements, header)
    todo = [j for j in jobs if j.key not in done]
    row = prices.price(model)
    listed = "its own row" if prices.is_listed(model) else "the table's default row (not listed)"
    print(f"Calibrating for {identity.describe(who)}: {len(keys)} of {len(source.turns)} turns of "
          f"{args.dataset.name} (share {args.share:g}, seed {args.seed}, stratified by task), "
          f"{len(jobs)} cloud answers of at most {max_new} tokens.\n"
          f"Prices: {model} at {listed} of {settings.price_table.name} v{prices.version}: "
          f"${row.input:g} in / ${row.output:g} out per 1M tokens.\n"
          f"Expected spend: ${sum(j.cost.expected_usd for j in todo):.4f} for the {len(todo)} "
          f"answers left (worst case ${sum(j.cost.worst_usd for j in todo):.4f}); already spent "
          f"${spent:.4f} on {len(done)}; cap ${args.max_usd:g}.")
    if source.header.get("judge"):
        print(f"Note: {args.dataset.name} was scored with an LLM judge ({source.header['judge']}); "
              "these answers are scored by the bench's rules only (no spend outside the cap).")
    cap = SpendCap(args.max_usd)
    if args.dry_run:
        return CloudRun(measurements, who, None, cap)
    result = measure(jobs, measurements, header, cloud, cap, minilm_embed,
                     progress=not args.no_progress)
    print(f"Measured {result.written} answers this run ({result.skipped} already there, "
          f"{result.failed} failed) in {result.seconds:.1f} s; spent ${result.spent_usd:.6f} "
          f"this run, ${cap.spent_usd:.6f} in all (cap ${args.max_usd:g}).")
    for error in result.errors[-3:]:
        print(f"  failed: {error}")
    if result.over_bound:
        print(f"Warning: {result.over_bound} answers cost more than their bound: this endpoint "
              "bills more than the price table says; check LCIO_PRICE_TABLE.")
    if result.stopped == "cap":
        left = result.planned - result.skipped - result.written - result.failed
        print(f"Stopped at the dollar cap: the next answer could cost up to "
              f"${result.stopped_before_usd:.6f} "
              f"and ${cap.left_usd:.6f} is left; {left} answers not asked. Rerun with a larger "
              "--max-usd to go on from here.")
    elif result.stopped == "errors":
        print("Stopped: the cloud failed (errors, time-outs or empty answers, see above); "
              "nothing is trained or installed. Fix the endpoint and rerun.")
    return CloudRun(measurements, who, result, cap)


def finish(args: argparse.Namespace, source: Any, cloud: CloudRun | None, local: Any,
           who: dict[str, Any]) -> int:
    """Compose the dataset from everything measured so far, report, train, install."""
    from lab.calibrate.compose import compose, measured_turns
    from lab.calibrate.measure import read_measurements

    runs = [r.result for r in (cloud, local) if r is not None]
    if any(r.stopped == "errors" for r in runs):
        print("A side failed: nothing is composed, trained or installed (what was measured is "
              "kept; a rerun goes on from there).")
        return EXIT_EARLY
    measured: dict[str, dict] = {}
    names = []
    if cloud is not None:
        measured, _ = read_measurements(cloud.measurements, None)
        names.append(who["model"])
        if not measured_turns(source, measured):
            print("No turn is measured completely on the cloud yet: nothing to calibrate with. "
                  "Raise --max-usd (or fix the endpoint) and rerun; what was measured is kept.")
            return EXIT_EARLY
    side = None
    if local is not None:
        side = local.side()
        names.append(side.identity["model"])
        if not measured_turns(source, side.measured, "local"):
            print("No turn is measured completely on the local model yet: nothing to calibrate "
                  "with. Raise --max-local-s and rerun; what was measured is kept.")
            return EXIT_EARLY
    out = default_out(args, names)
    info: dict[str, Any] = {"share": args.share, "seed": args.seed, "limit": args.limit,
                            "train_split_seed": args.train_split_seed}
    if cloud is not None:
        info.update(spent_usd=round(cloud.cap.spent_usd, 6), measurements=cloud.measurements.name)
    if local is not None:
        info.update(local_s=round(local.cap.spent_s, 1), local_measurements=local.path.name)
    block = compose(source, measured, out, who, info, side)
    print(f"\nWrote {out}: {block['measured_turns']} of {block['turns']} turns measured, the "
          "rest rescaled by task.")
    if cloud is not None:
        print(f"Cloud answers, {args.dataset.name} -> {who['model']}, on the same measured turns "
              "and actions:")
        print(report_table(source, measured))
    if side is not None:
        from lab.calibrate.local_run import local_table

        print(f"Local answers, {args.dataset.name} -> {side.identity['model']}, on the same "
              "measured turns and actions:")
        print(local_table(source, side.measured))
    status = EXIT_EARLY if any(r.stopped for r in runs) else 0
    if args.no_train:
        return status
    from lab.bench_eval import train_main
    from policies.artifacts import APP_POLICY_PATH

    policy = args.policy_out or APP_POLICY_PATH.with_name(
        f"rcrl-bench.calibrated-{'+'.join(_slug(n) for n in names)}.json")
    if args.train_split_seed is None:
        recipe = ["--seed", "0", "--split", "all"]
    else:  # the held-out 20 % stay unseen: `python -m lab.calibrate.heldout` plays them
        recipe = ["--seed", str(args.train_split_seed), "--split", "train"]
    train_main(["--dataset", str(out), *recipe, "--out", str(policy)])
    print(f"Policy for {who['model']} at {who['endpoint']}"
          + (f" with the local {side.identity['model']}" if side else "") + f" ({who['date']}): {policy}")
    if args.install:
        shutil.copyfile(policy, APP_POLICY_PATH)
        print(f"Installed as the app's policy: {APP_POLICY_PATH} "
              "(git checkout assets/policy/rcrl-bench.json restores the shipped one).")
    else:
        print("The app still uses the shipped policy; rerun with --install to use this one.")
    return status
