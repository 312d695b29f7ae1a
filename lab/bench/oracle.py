"""LCIO-Bench hindsight oracle: the best measured action sequence within the budgets."""

from __future__ import annotations

import math

import numpy as np

from policies.base import ActionSpace, Decision, Policy
from policies.bench.baselines import (
    _decision,
)
from policies.bench.dataset import BenchTurn
from policies.bench.observation import (
    BENCH_SPACE,
    BenchWeights,
)
from policies.guard import TOL
from policies.profiles import RESOURCES


def oracle_plan(dialogue: list[BenchTurn], budgets: dict[str, float],
                weights: BenchWeights | None = None, space: ActionSpace = BENCH_SPACE,
                cap: int = 2_000_000) -> tuple[list[int], float]:
    """Best measured action sequence in hindsight: maximum summed plain reward whose measured
    spending fits every budget (-1 = refuse the turn). Exhaustive level by level (the bench's
    masks keep it small; beyond `cap` partial sequences it keeps the best-scoring ones)."""
    weights = weights or BenchWeights()
    limit = np.array([budgets.get(r, math.inf) for r in RESOURCES])
    spent = np.zeros((1, 3))
    total = np.zeros(1)
    seqs = np.zeros((1, 0), dtype=int)
    for t in dialogue:
        acts = np.flatnonzero(space.mask_for(list(t.present)))
        cost = np.stack([np.nan_to_num(getattr(t, r)[acts]) for r in RESOURCES], 1)
        q = np.nan_to_num(t.quality[acts])
        r = weights.reward(q, cost[:, 0], cost[:, 1], cost[:, 2])
        # refusing (-1: no answer, nothing spent) is always possible, so the oracle also
        # bounds a policy that overspends and forfeits the turns after it
        acts = np.append(acts, -1)
        cost = np.vstack([cost, np.zeros((1, 3))])
        r = np.append(r, 0.0)
        m, k = len(total), len(acts)
        new_spent = np.repeat(spent, k, 0) + np.tile(cost, (m, 1))
        keep = np.all(new_spent <= limit + TOL, axis=1)
        total = (np.repeat(total, k) + np.tile(r, m))[keep]
        seqs = np.hstack([np.repeat(seqs, k, 0), np.tile(acts, m)[:, None]])[keep]
        spent = new_spent[keep]
        if len(total) > cap:
            top = np.argsort(-total)[:cap]
            total, seqs, spent = total[top], seqs[top], spent[top]
    best = int(np.argmax(total))
    return seqs[best].tolist(), float(total[best])


class Planned(Policy):
    """Replays a fixed plan (the oracle's); -1 refuses the turn."""

    name = "planned"
    uses_guard = False

    def __init__(self, plan: list[int], space: ActionSpace = BENCH_SPACE):
        self.plan, self.space, self._t = list(plan), space, 0

    def reset(self) -> None:
        self._t = 0

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        a = self.plan[self._t]
        self._t += 1
        if a < 0:
            return Decision(-1, "local", (), 1.0, reason="nothing fits: refuse")
        return _decision(self.space, a, 1.0, "planned in hindsight")


# ------------------------------------------------------------------------------ paper recipe
