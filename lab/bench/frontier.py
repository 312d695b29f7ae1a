"""What "≥ 95 % of cloud-only quality at ≤ 35 % of its dollars" asks of any policy on a bench
file, on the evaluator's own held-out splits (`lab.bench_eval.split`, seeds 0..n-1):

    python -m lab.bench.frontier assets/bench/lcio-bench-v2.jsonl [--seeds 3]

For each seed, the fewest dollars (as a share of cloud-only with every file) at which a
choice keeps ≥ 95 % of cloud-only's quality on the test turns, sweeping a dollar price λ
(each turn takes the action with the most quality − λ · dollars):

- **per turn, in hindsight**: the choice sees every action's measured quality, so it knows
  which turns the small model gets right;
- **per (task, files), learned**: one action per (true task, file kinds), the one with the
  most mean quality − λ · dollars on the training split. It knows the task label, which a
  policy must infer, so it is an upper bound on any policy whose quality estimate comes from
  the task and the file kinds alone.

No budgets and no latency: the box is a statement about quality and dollars only.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from policies.base import ActionSpace
from policies.bench.dataset import BenchTurn, complete_dialogues, split
from policies.bench.routers import fullest

QUALITY_SHARE = 0.95
PRICES = np.concatenate([[0.0], np.geomspace(10.0, 1e6, 241)])  # λ, quality per dollar


def _values(t: BenchTurn) -> tuple[np.ndarray, np.ndarray]:
    return np.nan_to_num(t.quality), np.nan_to_num(t.usd)


def _shares(test: list[BenchTurn], space: ActionSpace, pick) -> tuple[float, float]:
    """(quality, dollars) of `pick(turn)` on `test`, as shares of cloud-only with every file."""
    q = d = q0 = d0 = 0.0
    for t in test:
        quality, usd = _values(t)
        base, a = fullest(space, t.kinds, "cloud"), pick(t)
        q, d, q0, d0 = q + quality[a], d + usd[a], q0 + quality[base], d0 + usd[base]
    return q / q0, d / d0


def _hindsight(lam: float):
    def pick(t: BenchTurn) -> int:
        quality, usd = _values(t)
        return int(np.argmax(np.where(t.valid, quality - lam * usd, -np.inf)))
    return pick


def _per_task(train: list[BenchTurn], space: ActionSpace, lam: float):
    groups: dict[tuple, list[np.ndarray]] = defaultdict(list)
    for t in train:
        quality, usd = _values(t)
        groups[(t.task, t.kinds)].append(np.where(t.valid, quality - lam * usd, -1e9))
    choice = {g: int(np.argmax(np.mean(v, axis=0))) for g, v in groups.items()}

    def pick(t: BenchTurn) -> int:
        a = choice.get((t.task, t.kinds), -1)
        return a if a >= 0 and t.valid[a] else fullest(space, t.kinds, "cloud")
    return pick


def least_dollars(points: list[tuple[float, float]], share: float = QUALITY_SHARE) -> tuple[float, float]:
    """The (quality, dollars) point with the fewest dollars keeping `share` of the quality;
    where none keeps it, the one with the most quality."""
    kept = [p for p in points if p[0] >= share]
    return min(kept, key=lambda p: p[1]) if kept else max(points)


def frontier(path: str | Path, seeds: int = 3) -> dict[str, list[tuple[float, float]]]:
    from policies.bench.dataset import load_bench

    space = load_bench(path).space
    dialogues = complete_dialogues(path)
    out: dict[str, list[tuple[float, float]]] = {"hindsight, per turn": [],
                                                 "learned, per (task, files)": []}
    for seed in range(seeds):
        train, test = split(dialogues, seed)
        train_turns = [t for d in train for t in d]
        test_turns = [t for d in test for t in d]
        out["hindsight, per turn"].append(least_dollars(
            [_shares(test_turns, space, _hindsight(lam)) for lam in PRICES]))
        out["learned, per (task, files)"].append(least_dollars(
            [_shares(test_turns, space, _per_task(train_turns, space, lam)) for lam in PRICES]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"fewest dollars keeping >= {QUALITY_SHARE:.0%} of cloud-only quality (held-out, per seed):")
    for name, points in frontier(args.dataset, args.seeds).items():
        per_seed = " / ".join(f"{d:.0%} ({q:.1%} quality)" if q >= QUALITY_SHARE
                              else f"never (at most {q:.1%} quality)" for q, d in points)
        print(f"  {name}: {per_seed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
