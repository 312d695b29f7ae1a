"""Choosing LCIO's k-NN tie rule and its planning depth on the training split only (never on
held-out dialogues).

    python -m lab.m4a1.crossval              # k-NN ties: shared vs order-broken
    python -m lab.m4a1.crossval --planner    # up to which turn to plan two turns ahead

Per paper seed, the training dialogues are cut into 4 folds; LCIO is fitted on three and
played on the fourth under the paper's evaluation rules, judged by a k-NN over the same three
folds' points stored in a random order (3 orders per fold): LCIO cannot know the real judge's
tie order, so the judge's order is drawn at random here. Printed: mean reward per variant and
the paired difference from the first variant with its standard error over the cells.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from lab.m4a1.protocol import PAPER_SEEDS, PaperEvaluator, paper_split, summarise_paper
from lab.m4a1.training import train_planner
from policies.artifacts import DEFAULT_DATASET
from policies.m4a1.data import load_dialogues
from policies.m4a1.planner import LookaheadConfig, LookaheadPlanner
from policies.m4a1.simulator import QualityModel
from policies.profiles import PAPER_BUDGETS

FOLDS, JUDGES = 4, 3


def variants(base: LookaheadPlanner) -> dict[str, LookaheadPlanner]:
    """The same fitted policy with its k-NN breaking ties by storage order, or sharing them
    (planning one turn ahead, as when the tie rule was chosen)."""
    config = dataclasses.replace(base.config, two_turns_until=-1)
    out = {}
    for name, ties in (("order-broken", False), ("shared ties", True)):
        q = dataclasses.replace(base.quality, ties=ties)
        out[name] = LookaheadPlanner(q, base.costs, base.weights, config, None, base.stats)
    return out


def planners(base: LookaheadPlanner) -> dict[str, LookaheadPlanner]:
    """The same fitted policy planning two turns ahead up to turn −1 (never), 0, 1 or 2."""
    return {f"two turns ahead until turn {t}": LookaheadPlanner(
        base.quality, base.costs, base.weights,
        dataclasses.replace(base.config, two_turns_until=t), None, base.stats) for t in (-1, 0, 1, 2)}


def crossval_seed(dialogues, seed: int, make=variants,
                  budgets: dict[str, float] = PAPER_BUDGETS) -> dict[str, list[float]]:
    train, _, _ = paper_split(dialogues, seed)  # the held-out 20 % is never touched
    folds = np.array_split(np.random.default_rng(seed).permutation(len(train)), FOLDS)
    res: dict[str, list[float]] = {}
    for f, val_idx in enumerate(folds):
        held = set(val_idx.tolist())
        val = [train[i] for i in val_idx]
        inner = [d for i, d in enumerate(train) if i not in held]
        base = train_planner(inner, LookaheadConfig(seed=seed))
        pols = make(base)
        for j in range(JUDGES):
            perm = np.random.default_rng(1000 * seed + 10 * f + j).permutation(len(base.quality.points))
            judge = QualityModel(base.quality.points[perm], base.quality.quality[perm], base.space)
            ev = PaperEvaluator(val, judge)
            for name, pol in pols.items():
                eps = [ev.play(pol, d, budgets) for d in val]
                res.setdefault(name, []).append(summarise_paper(eps, budgets)["reward"])
    return res


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(DEFAULT_DATASET))
    ap.add_argument("--planner", action="store_true", help="compare planning depths, not tie rules")
    ap.add_argument("--scale", type=float, default=1.0, help="budgets × this (30 s, $0.05)")
    args = ap.parse_args(argv)
    dialogues = load_dialogues(args.dataset)
    budgets = {**PAPER_BUDGETS, "latency_s": 30.0 * args.scale, "usd": 0.05 * args.scale}
    res: dict[str, list[float]] = {}
    for seed in PAPER_SEEDS:
        per = crossval_seed(dialogues, seed, planners if args.planner else variants, budgets)
        for name, v in per.items():
            res.setdefault(name, []).extend(v)
        print(f"seed {seed}: " + ", ".join(f"{n} {np.mean(v):.4f}" for n, v in res.items()), flush=True)
    first = np.asarray(next(iter(res.values())))
    for name, v in list(res.items())[1:]:
        diff = np.asarray(v) - first
        print(f"{name} − {next(iter(res))}: {diff.mean():+.4f} ± "
              f"{diff.std(ddof=1) / np.sqrt(len(diff)):.4f} (mean ± s.e. over {len(diff)} fold × judge "
              f"cells); better in {(diff > 0).sum()}, worse in {(diff < 0).sum()}")
    return res


if __name__ == "__main__":
    main()
