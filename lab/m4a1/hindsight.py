"""An experiment, not a shipped policy: hindsight optimisation (HOP) on LCIO's own model.

    python -m lab.m4a1.hindsight --cache runs/eval/cache          # held-out, seeds 1–3
    python -m lab.m4a1.hindsight --cv                              # training split only
    (--depth 1: plan the next turn only)

Why: not knowing each dialogue's future turns costs LCIO 0.148 of reward (`lab.m4a1.gap`).
HOP samples futures from the training split instead of a learned task chain: at each decision
the futures are the training dialogues that reached this turn (those with this turn's task
when there are at least `MIN_MATCH`), each future's real tasks, associations, attachments and
length are planned exhaustively to its end on LCIO's k-NN from the real window and remaining
budget, and action a is valued by the mean over futures of (best reward sum after taking a) /
(the future's length), the paper's mean-per-dialogue objective. It is slow (up to seconds per
decision) and was measured to see whether distilling it was worth doing; it was not (policies/README.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lab.m4a1.protocol import PAPER_SEEDS, PaperEvaluator, PaperSimulator, paper_split
from lab.m4a1.protocol import summarise_paper as summary
from lab.m4a1.training import train_planner
from policies.artifacts import DEFAULT_DATASET
from policies.base import Decision, Policy
from policies.guard import TOL, affordable_mask
from policies.m4a1.data import Dialogue, load_dialogues
from policies.m4a1.features import ASSOC, HIST, PRESENT, REMAIN, STEP_DIM, TURN, step_state
from policies.m4a1.planner import LookaheadConfig, LookaheadPlanner
from policies.m4a1.simulator import QualityModel, action_code, normalised_association, paper_reward
from policies.profiles import PAPER_BUDGETS, RESOURCES

MIN_MATCH = 5  # fewer training dialogues with this turn's task: use all that reached the turn
BUDGETED = ("latency_s", "usd")


class HindsightPolicy(Policy):
    """HOP over training futures, planned on `lcio`'s quality model (never the judge)."""

    name, uses_guard = "lcio, hindsight optimisation", True

    def __init__(self, lcio: LookaheadPlanner, futures: list[Dialogue], depth: int = 99):
        self.lcio, self.pool, self.depth = lcio, futures, depth
        self.space = lcio.space
        self._actions = self.space.actions
        self._codes = action_code(self.space)
        self._norm = lcio.costs.normalised()
        self._cost = np.stack([lcio.action_costs[r] for r in BUDGETED], 1)
        self._next = [np.array([step_state(a, k) for a in self._actions]) for k in range(4)]

    def futures(self, turn: int, task: int) -> list[Dialogue]:
        pool = [d for d in self.pool if len(d.turns) > turn]
        same = [d for d in pool if d.turns[turn].task == task]
        return same if len(same) >= MIN_MATCH else pool

    def plan(self, window: np.ndarray, turns: list[tuple[int, tuple, tuple]], left: np.ndarray,
             first_allowed: np.ndarray) -> np.ndarray:
        """Per first action, the best reward sum over `turns` ((task, association, present) from
        this turn on) that stays within `left`; -inf where the first action is not allowed."""
        n, w = self.space.n, self.lcio.weights
        windows, spent = window[None, :], np.zeros((1, len(BUDGETED)))
        total, first = np.zeros(1), np.zeros(1, dtype=int)
        for j, (_, assoc, present) in enumerate(turns):
            allowed = first_allowed if j == 0 else self.space.mask_for(list(present))
            base = paper_reward(np.zeros(n), normalised_association(np.asarray(assoc), self.space),
                                self._norm, w)
            a_rep = np.tile(np.arange(n), len(windows))
            new_spent = np.repeat(spent, n, 0) + self._cost[a_rep]
            keep = allowed[a_rep] & np.all(new_spent <= left + TOL, axis=1)
            if not keep.any():
                break  # nothing more fits: the plan ends here
            w_rep, a_rep, spent = np.repeat(windows, n, 0)[keep], a_rep[keep], new_spent[keep]
            q = self.lcio.quality.predict(np.hstack([w_rep, self._codes[a_rep]]))
            total = np.repeat(total, n)[keep] + w.quality * q + base[a_rep]
            first = a_rep if j == 0 else np.repeat(first, n)[keep]
            if j + 1 < len(turns):
                windows = np.hstack([w_rep[:, STEP_DIM:], self._next[turns[j + 1][0]][a_rep]])
        best = np.full(n, -np.inf)
        np.maximum.at(best, first, total)
        return best

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        turn, window = int(observation[TURN]), np.asarray(observation[HIST], dtype=np.float64)
        task = int(round(window[-1]))
        remaining = dict(zip(RESOURCES, (float(x) for x in observation[REMAIN]), strict=True))
        allowed = np.asarray(mask, dtype=bool) & affordable_mask(remaining, self.lcio.action_costs)
        if not allowed.any():
            return Decision(0, "local", (), 0.0, reason="no action is affordable: refuse the turn")
        now = (task, tuple(float(x) for x in observation[ASSOC]),
               tuple(bool(x) for x in observation[PRESENT]))
        left = np.array([remaining[r] for r in BUDGETED])
        value = np.zeros(self.space.n)
        for f in self.futures(turn, task):
            later = [(t.task, t.association, t.present) for t in f.turns[turn + 1: turn + 1 + self.depth]]
            best = self.plan(window, [now, *later], left, allowed)
            value += np.where(np.isfinite(best), best, -1e9) / len(f.turns)
        a = int(np.argmax(np.where(allowed, value, -np.inf)))
        act = self._actions[a]
        return Decision(a, act.location, act.attachments, 1.0, reason="hindsight optimisation")


def held_out(dialogues: list[Dialogue], cache: Path, depth: int = 99) -> dict[str, list[float]]:
    """Reward of LCIO and HOP on each seed's held-out dialogues at the nominal budgets."""
    from lab.m4a1.runner import lcio_path, lcio_policy

    out: dict[str, list[float]] = {}
    for seed in PAPER_SEEDS:
        train, test, _ = paper_split(dialogues, seed)
        lcio = lcio_policy(train, seed, lcio_path(cache, seed))
        ev = PaperEvaluator(test, PaperSimulator(train))
        for name, pol in (("lcio", lcio), ("hop", HindsightPolicy(lcio, train, depth))):
            s = summary([ev.play(pol, d, PAPER_BUDGETS) for d in test], PAPER_BUDGETS)
            out.setdefault(name, []).append(s["reward"])
            out.setdefault(f"{name} over-budget share", []).append(s["over_budget_share"])
    return out


def training_cv(dialogues: list[Dialogue], depth: int = 99, folds: int = 4) -> dict[str, list[float]]:
    """`lab.m4a1.crossval`'s folds of each seed's training split (one random-order judge
    per fold); the held-out 20 % is never touched."""
    out: dict[str, list[float]] = {}
    for seed in PAPER_SEEDS:
        train, _, _ = paper_split(dialogues, seed)
        for f, idx in enumerate(np.array_split(np.random.default_rng(seed).permutation(len(train)), folds)):
            val = [train[i] for i in idx]
            inner = [d for i, d in enumerate(train) if i not in set(idx.tolist())]
            lcio = train_planner(inner, LookaheadConfig(seed=seed))
            perm = np.random.default_rng(1000 * seed + 10 * f).permutation(len(lcio.quality.points))
            judge = QualityModel(lcio.quality.points[perm], lcio.quality.quality[perm], lcio.space)
            ev = PaperEvaluator(val, judge)
            for name, pol in (("lcio", lcio), ("hop", HindsightPolicy(lcio, inner, depth))):
                out.setdefault(name, []).append(
                    summary([ev.play(pol, d, PAPER_BUDGETS) for d in val], PAPER_BUDGETS)["reward"])
    return out


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(DEFAULT_DATASET))
    ap.add_argument("--cache", default="runs/eval/cache")
    ap.add_argument("--cv", action="store_true", help="training-split folds instead of held-out")
    ap.add_argument("--depth", type=int, default=99, help="future turns planned (default: to the end)")
    args = ap.parse_args(argv)
    dialogues = load_dialogues(args.dataset)
    out = (training_cv(dialogues, args.depth) if args.cv
           else held_out(dialogues, Path(args.cache), args.depth))
    for name, v in out.items():
        print(f"{name:<28}" + "".join(f"{x:>8.3f}" for x in v) + f"   mean {np.mean(v):.3f}")
    d = np.asarray(out["hop"]) - np.asarray(out["lcio"])
    print(f"hop − lcio: {d.mean():+.4f} ± {d.std(ddof=1) / np.sqrt(len(d)):.4f} (mean ± s.e.; "
          f"better in {(d > 0).sum()}, worse in {(d < 0).sum()} of {len(d)})")
    return out


if __name__ == "__main__":
    main()
