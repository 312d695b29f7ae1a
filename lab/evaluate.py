"""Compare every policy on held-out dialogues, per seed, and sweep budgets: one command for
both datasets.

    python -m lab.evaluate --dataset ../shared/data/m4a1/M4A1.json --seeds 3 --out runs/eval
    python -m lab.evaluate --dataset assets/bench/lcio-bench-v2.jsonl --seeds 3 --out runs/eval-bench

M4A1 runs the paper's protocol (`lab.m4a1.runner`: its splits with seeds 1–3, its kd-tree
k-NN judge, its evaluation rules). An LCIO-Bench file (detected by its header) goes to
`lab.bench_eval` (every outcome measured, no simulator). Trained models are cached under
OUT/cache; OUT/results.json and OUT/results.html hold the figures.
"""

from __future__ import annotations

import argparse

from policies.artifacts import DEFAULT_DATASET
from policies.bench.planner import BenchPlannerConfig


def _bench_dataset(argv: list[str] | None) -> bool:
    """True when `--dataset` names an LCIO-Bench file (then `lab.bench_eval` runs)."""
    from policies.bench.dataset import is_bench_file

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--dataset", default=str(DEFAULT_DATASET))
    known, _ = pre.parse_known_args(argv)
    return is_bench_file(known.dataset)


def _scales(text: str) -> list[float]:
    return [float(x) for x in text.split(",")]


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(DEFAULT_DATASET))
    ap.add_argument("--protocol", choices=["paper"], default="paper",
                    help="M4A1 only: the paper's protocol (LCIO's earlier one, whose planner held "
                         "its judge's model, is withdrawn)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default="runs/eval")
    ap.add_argument("--epochs", type=int, default=BenchPlannerConfig.epochs,
                    help="bench only: dual-ascent epochs of the planner's budget prices")
    ap.add_argument("--rl-steps", "--a2c-steps", dest="rl_steps", type=int, default=30_000,
                    help="steps of the paper's recipe (A2C, and PPO under --protocol paper); 0 skips it")
    ap.add_argument("--sweep", type=_scales, default=None, help="budget scales, comma-separated")
    return ap


def main(argv: list[str] | None = None) -> dict:
    if _bench_dataset(argv):  # every outcome measured: no k-NN simulator (lab/bench_eval.py)
        from lab.bench_eval import evaluate_main

        return evaluate_main(argv)
    args = parser().parse_args(argv)
    from lab.m4a1 import runner

    args.sweep = args.sweep or list(runner.SWEEP)
    return runner.main(args)


if __name__ == "__main__":
    main()
