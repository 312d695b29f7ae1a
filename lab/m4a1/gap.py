"""Where LCIO's gap to the hindsight oracle comes from, in the paper's protocol (seeds 1–3).

    python -m lab.m4a1.gap --cache runs/eval/cache

Rows, each judged by the evaluator's simulator on the held-out dialogues at the nominal budgets:
- the hindsight oracle (knows every future turn; plans on the judge itself);
- the same exhaustive search planned on LCIO's own quality model: it knows the future tasks,
  lengths and associations but not the judge, so oracle − this row is what LCIO's model costs
  and this row − LCIO is what not knowing the future costs;
- LCIO, and LCIO with the earlier order-broken k-NN (`knn_ties=False`).
LCIO is loaded from (or saved to) the runner's cache, so it is the policy the tables report.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lab.m4a1.oracle import best_sequence
from lab.m4a1.protocol import PAPER_SEEDS, PaperEvaluator, PaperSimulator, paper_split
from lab.m4a1.protocol import summarise_paper as summary
from lab.m4a1.runner import lcio_path, lcio_policy
from lab.m4a1.training import train_planner
from policies.artifacts import DEFAULT_DATASET
from policies.m4a1.baselines import FixedSequence
from policies.m4a1.data import load_dialogues
from policies.m4a1.planner import LookaheadConfig
from policies.profiles import PAPER_BUDGETS

ROWS = ("oracle (hindsight, judge's model)", "oracle (hindsight, LCIO's own model)", "lcio",
        "lcio, order-broken k-NN")


def planned_on(evaluator: PaperEvaluator, quality_fn, budgets: dict[str, float]) -> float:
    """Reward of the exhaustive hindsight plan made on `quality_fn`, judged by the evaluator."""
    eps = []
    for d in evaluator.test:
        plan, _ = best_sequence(d, quality_fn, evaluator.action_costs, evaluator.norm_costs, budgets,
                                evaluator.weights, evaluator.space)
        eps.append(evaluator.play(FixedSequence(plan, evaluator.space), d, budgets))
    return summary(eps, budgets)["reward"]


def gap_seed(dialogues, seed: int, cache: Path) -> dict[str, float]:
    train, test, _ = paper_split(dialogues, seed)
    ev = PaperEvaluator(test, PaperSimulator(train))
    lcio = lcio_policy(train, seed, lcio_path(cache, seed))
    ordered = train_planner(train, LookaheadConfig(seed=seed, knn_ties=False))
    b = PAPER_BUDGETS
    return {ROWS[0]: summary(ev.oracle(b), b)["reward"], ROWS[1]: planned_on(ev, lcio.quality.predict, b),
            ROWS[2]: summary([ev.play(lcio, d, b) for d in test], b)["reward"],
            ROWS[3]: summary([ev.play(ordered, d, b) for d in test], b)["reward"]}


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(DEFAULT_DATASET))
    ap.add_argument("--cache", default="runs/eval/cache")
    args = ap.parse_args(argv)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    dialogues = load_dialogues(args.dataset)
    per_seed = [gap_seed(dialogues, s, cache) for s in PAPER_SEEDS]
    out = {r: [p[r] for p in per_seed] for r in ROWS}
    print(f"{'':<38}" + "".join(f"{'seed ' + str(s):>9}" for s in PAPER_SEEDS) + f"{'mean':>9}")
    for r, v in out.items():
        print(f"{r:<38}" + "".join(f"{x:>9.3f}" for x in v) + f"{np.mean(v):>9.3f}")
    return out


if __name__ == "__main__":
    main()
