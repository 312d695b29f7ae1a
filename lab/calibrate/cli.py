"""`python -m lab.calibrate`: fit the app's policy to the cloud configured in the
environment (OPENAI_API_KEY / OPENAI_BASE_URL / LCIO_CLOUD_MODEL), in one command.

Steps: sample `--share` of the dataset's turns (stratified by task, seeded), print what
asking them again should cost, ask the cloud every cloud action of those turns (never past
`--max-usd`; resumable), write the calibrated dataset (`lab.calibrate.compose`),
print per-task cloud quality and cost against the source file's, then train the app's
policy on it with the shipped recipe (`python -m lab.train --seed 0 --split all`).

Exit status: 0 when every sampled request was measured, 3 when the run stopped early (the
dollar cap, or repeated failures): what was measured is still used, and a rerun goes on
from there; 2 when nothing can be done (no cloud configured, bad arguments).
"""

from __future__ import annotations

import argparse
import re
import shutil
import time
from pathlib import Path
from typing import Any

from backends.config import default_offline_env

EXIT_EARLY = 3


def _slug(model: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", model.lower()).strip("-.") or "cloud"


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


def report_table(source: Any, measured: dict[str, dict]) -> str:
    """Per task: measured turns / turns, then source -> configured cloud on the same pairs."""
    from lab.calibrate.compose import fit_factors, measured_turns

    turns = measured_turns(source, measured)
    per_task, pooled = fit_factors(source, measured, turns)
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
    if settings.uses_standin:
        print("No cloud is configured: set OPENAI_BASE_URL and/or OPENAI_API_KEY (and "
              "LCIO_CLOUD_MODEL) to the cloud to calibrate for. The shipped policy is already "
              "calibrated for the project's stand-in.")
        return 2
    if not 0 < args.share <= 1 or args.max_usd < 0:
        print("--share must be in (0, 1] and --max-usd at least 0.")
        return 2
    return run(args, settings)


def run(args: argparse.Namespace, settings: Any) -> int:
    from backends.cloud import CloudBackend
    from backends.errors import BackendError
    from backends.pricing import load_prices
    from backends.redact import redact_logs, url_secrets
    from lab.bench.scoring import minilm_embed
    from lab.calibrate.measure import make_header, measure, plan, read_measurements
    from lab.calibrate.sample import SourceFile, select
    from lab.calibrate.spend import SpendCap
    from policies import cloud_identity as identity

    key = settings.openai_api_key
    redact_logs([key.get_secret_value() if key else "", *url_secrets(settings.openai_base_url)])
    source = SourceFile.read(args.dataset)
    cloud = CloudBackend(settings)
    try:
        cloud.load()  # resolves the model name when the endpoint is given none
    except BackendError as exc:
        print(f"The cloud cannot be used: {exc.message}")
        return 2
    model = cloud.model
    prices = load_prices(settings.price_table)
    who = {**identity.configured(settings, model), "date": time.strftime("%Y-%m-%d", time.gmtime())}
    out = args.out or args.dataset.with_name(f"{args.dataset.stem}.calibrated-{_slug(model)}.jsonl")
    measurements = args.measurements or out.with_name(f"{out.stem}.measurements.jsonl")
    max_new = args.max_new_tokens or int(source.header.get("max_new_tokens") or settings.max_new_tokens)

    # turns with cloud answers to compare with (a file still being built has turns without)
    measurable = [t for t in source.turns.values() if source.cloud_actions(t["key"])]
    keys = select(measurable, args.share, args.seed, args.limit)
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
    if args.dry_run:
        return 0

    cap = SpendCap(args.max_usd)
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
        print("Stopped after repeated failures (see above); fix the endpoint and rerun.")
    return finish(args, source, measurements, out, who, result, cap)


def finish(args: argparse.Namespace, source: Any, measurements: Path, out: Path,
           who: dict[str, Any], result: Any, cap: Any) -> int:
    """Compose the dataset from everything measured so far, report, train, install."""
    from lab.calibrate.compose import compose, measured_turns
    from lab.calibrate.measure import read_measurements

    measured, _ = read_measurements(measurements, None)
    if not measured_turns(source, measured):
        print("No turn is measured completely yet: nothing to calibrate with. Raise --max-usd "
              "(or fix the endpoint) and rerun; what was measured is kept.")
        return EXIT_EARLY
    info = {"share": args.share, "seed": args.seed, "limit": args.limit,
            "spent_usd": round(cap.spent_usd, 6), "measurements": measurements.name}
    block = compose(source, measured, out, who, info)
    print(f"\nWrote {out}: {block['measured_turns']} of {block['turns']} turns measured on "
          f"{who['model']}, the rest rescaled by task.\nCloud answers, {args.dataset.name} "
          f"-> {who['model']}, on the same measured turns and actions:")
    print(report_table(source, measured))
    status = EXIT_EARLY if result.stopped else 0
    if args.no_train:
        return status
    from lab.bench_eval import train_main
    from policies.artifacts import APP_POLICY_PATH

    policy = args.policy_out or APP_POLICY_PATH.with_name(
        f"rcrl-bench.calibrated-{_slug(who['model'])}.json")
    train_main(["--dataset", str(out), "--seed", "0", "--split", "all", "--out", str(policy)])
    print(f"Policy for {who['model']} at {who['endpoint']} ({who['date']}): {policy}")
    if args.install:
        shutil.copyfile(policy, APP_POLICY_PATH)
        print(f"Installed as the app's policy: {APP_POLICY_PATH} "
              "(git checkout assets/policy/rcrl-bench.json restores the shipped one).")
    else:
        print("The app still uses the shipped policy; rerun with --install to use this one.")
    return status
