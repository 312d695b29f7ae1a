"""Which quality estimator, fitted on a sample of the training split, still picks the judge's best
action? A one-step screen for making LCIO data-efficient in the paper's protocol.

    python -m lab.m4a1.sample_screen --dataset ../shared/data/m4a1/M4A1.json

Why: fitted on a part of the training split LCIO loses most of its edge (`lab.curves`), and the
loss is its quality model's (`--isolate`: with its dialogue statistics from the whole split
the reward hardly moves, with its quality model from the whole split it comes back). The
judge is a 5-NN over every training turn; an estimator fitted on fewer turns can only guess
what the missing ones would say. At every held-out state LCIO (fitted on everything) visits,
each estimator ranks the 9 actions by its predicted reward (quality + the paper's association
and cost terms); the screen reports the judge's reward lost by taking the estimator's best
action instead of the judge's (0 = always the judge's choice), averaged over states, splits
1–3 and `--subsamples` random subsets per fraction. It ignores the look-ahead: a cheap filter
before a full evaluation, not a result.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from lab.m4a1.protocol import PAPER_SEEDS, PaperEvaluator, PaperSimulator, paper_split
from lab.m4a1.subsets import subsample
from lab.m4a1.training import train_planner
from policies.m4a1.data import Dialogue, load_dialogues
from policies.m4a1.features import history_window, step_state
from policies.m4a1.planner import LookaheadConfig
from policies.m4a1.simulator import EPS, QualityModel, normalised_association
from policies.profiles import PAPER_BUDGETS

# name: (neighbours k, feature columns of the 29, distance offset in 1/(d + offset))
ESTIMATORS: dict[str, tuple[int, slice, float]] = {
    "5-NN (LCIO's)": (5, slice(0, 29), EPS),
    "1-NN": (1, slice(0, 29), EPS),
    "2-NN": (2, slice(0, 29), EPS),
    "3-NN": (3, slice(0, 29), EPS),
    "8-NN": (8, slice(0, 29), EPS),
    "12-NN": (12, slice(0, 29), EPS),
    "5-NN, last 3 turns": (5, slice(10, 29), EPS),
    "5-NN, last 2 turns": (5, slice(15, 29), EPS),
    "5-NN, this turn only": (5, slice(20, 29), EPS),
    "5-NN, weights 1/(d+0.5)": (5, slice(0, 29), 0.5),
    "5-NN, weights 1/(d+1)": (5, slice(0, 29), 1.0),
}


def knn(points: np.ndarray, quality: np.ndarray, queries: np.ndarray, k: int, cols: slice,
        offset: float) -> np.ndarray:
    """Inverse-distance k-NN on `cols`, equidistant neighbours sharing the last slots (as LCIO's)."""
    p, x = points[:, cols], queries[:, cols]
    d2 = np.maximum((x ** 2).sum(1)[:, None] + (p ** 2).sum(1)[None] - 2 * x @ p.T, 0.0)
    k = min(k, len(p))
    kth = np.partition(d2, k - 1, axis=1)[:, k - 1: k]
    tol = 1e-9 * (1 + kth)
    closer, tied = d2 < kth - tol, np.abs(d2 - kth) <= tol
    share = closer + tied * ((k - closer.sum(1, keepdims=True)) / np.maximum(tied.sum(1, keepdims=True), 1))
    w = share / (np.sqrt(d2) + offset)
    return (w * quality).sum(1) / w.sum(1)


def visited(train: list[Dialogue], test: list[Dialogue], seed: int
            ) -> tuple[np.ndarray, np.ndarray, PaperSimulator]:
    """Every (state, action) query at the held-out states LCIO visits, and the per-action
    association and cost part of the reward there."""
    judge = PaperSimulator(train)
    ev = PaperEvaluator(test, judge)
    lcio = train_planner(train, LookaheadConfig(seed=seed))
    queries, rest = [], []
    cost = (ev.norm_costs["latency_s"] + ev.norm_costs["usd"]) / 3
    for d in test:
        states: list[list[float]] = []
        prev = None
        for turn, a in zip(d.turns, ev.play(lcio, d, PAPER_BUDGETS).actions, strict=True):
            states.append(step_state(prev, turn.task))
            prev = judge.space.actions[a]
            rest.append(normalised_association(np.asarray(turn.association), judge.space) / 3 - cost)
            window = history_window(states)
            queries += [np.concatenate([window, code]) for code in judge._codes]
    return np.asarray(queries), np.asarray(rest), judge


def screen(dataset: str, fractions: list[float], subsamples: int) -> dict[str, dict[str, float]]:
    """{fraction: {estimator: mean judge reward lost per decision}}"""
    lost: dict[tuple[float, str], list[float]] = {}
    dialogues = load_dialogues(dataset)
    for seed in PAPER_SEEDS:
        train, test, _ = paper_split(dialogues, seed)
        queries, rest, judge = visited(train, test, seed)
        n = judge.space.n
        truth = judge.predict(queries).reshape(-1, n) + rest
        rows = np.arange(len(truth))
        for f in fractions:
            for j in range(1 if f >= 1.0 else subsamples):
                model = QualityModel.fit(subsample(train, f, seed, j), judge.space)
                for name, (k, cols, offset) in ESTIMATORS.items():
                    guess = knn(model.points, model.quality, queries, k, cols, offset).reshape(-1, n) + rest
                    lost.setdefault((f, name), []).append(
                        float((truth.max(1) - truth[rows, guess.argmax(1)]).mean()))
    return {f"{f:g}": {name: float(np.mean(lost[(f, name)])) for name in ESTIMATORS} for f in fractions}


def isolate(dataset: str, fractions: list[float], subsamples: int) -> dict[str, dict[str, float]]:
    """Held-out reward of LCIO fitted on a part
    of the split, and with either its quality model or its dialogue statistics (continuation,
    next task, association) taken from the whole split instead: which one costs the reward."""
    from lab.m4a1.protocol import summarise_paper
    from policies.m4a1.planner import DialogueStats, LookaheadPlanner

    out: dict[tuple[float, str], list[float]] = {}
    dialogues = load_dialogues(dataset)
    for seed in PAPER_SEEDS:
        train, test, _ = paper_split(dialogues, seed)
        ev = PaperEvaluator(test, PaperSimulator(train))
        for f in fractions:
            for j in range(1 if f >= 1.0 else subsamples):
                part = subsample(train, f, seed, j)
                for name, model_on, stats_on in (("both from the part", part, part),
                                                 ("statistics from the whole split", part, train),
                                                 ("quality model from the whole split", train, part)):
                    fit = train_planner(model_on, LookaheadConfig(seed=seed))
                    lcio = LookaheadPlanner(fit.quality, fit.costs, fit.weights, fit.config,
                                            stats=DialogueStats.fit(stats_on, fit.space))
                    eps = [ev.play(lcio, d, PAPER_BUDGETS) for d in test]
                    out.setdefault((f, name), []).append(summarise_paper(eps, PAPER_BUDGETS)["reward"])
    return {f"{f:g}": {n: float(np.mean(v)) for (g, n), v in out.items() if g == f} for f in fractions}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--fractions", type=lambda t: [float(x) for x in t.split(",")], default=[0.25, 0.5, 1.0])
    ap.add_argument("--subsamples", type=int, default=3)
    ap.add_argument("--isolate", action="store_true",
                    help="instead: LCIO's reward with its model or its statistics from the whole split")
    args = ap.parse_args(argv)
    if args.isolate:
        iso = isolate(args.dataset, args.fractions, args.subsamples)
        print(json.dumps(iso, indent=1))
        return iso
    res = screen(args.dataset, args.fractions, args.subsamples)
    print("| estimator | " + " | ".join(f"{float(f):.0%} of the split" for f in res) + " |")
    print("|" + "---|" * (len(res) + 1))
    for name in ESTIMATORS:
        print(f"| {name} | " + " | ".join(f"{res[f][name]:.3f}" for f in res) + " |")
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
