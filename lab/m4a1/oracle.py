"""Hindsight oracle: the best action sequence for a whole dialogue under its budgets.

It knows every future turn (tasks, association, length) and searches all sequences level
by level on the simulator, dropping any branch that would exceed a budget. Dialogues are
at most a handful of turns, so exhaustive search (9^5 leaves) is exact and fast when each
level's quality queries go to the k-NN model as one batch. This is the upper bound.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from policies.base import ActionSpace
from policies.guard import TOL
from policies.m4a1.data import Dialogue
from policies.m4a1.features import SPAN, STEP_DIM, step_state
from policies.m4a1.simulator import RewardWeights, action_code, normalised_association, paper_reward


def best_sequence(dialogue: Dialogue, quality_fn: Callable[[np.ndarray], np.ndarray],
                  action_costs: dict[str, np.ndarray], norm_costs: dict[str, np.ndarray],
                  budgets: dict[str, float], weights: RewardWeights | None = None,
                  space: ActionSpace | None = None) -> tuple[list[int], float]:
    """(actions, summed paper reward) of the best budget-feasible sequence."""
    space, weights = space or ActionSpace(), weights or RewardWeights()
    codes = action_code(space)
    n = space.n
    res = [r for r in action_costs if np.isfinite(budgets.get(r, np.inf))]
    cost = np.stack([action_costs[r] for r in res], 1) if res else np.zeros((n, 0))
    limit = np.array([budgets[r] for r in res])
    first = np.asarray([-1.0] * STEP_DIM * (SPAN - 1) + step_state(None, dialogue.turns[0].task))
    windows = first[None, :]
    spent = np.zeros((1, len(res)))
    total = np.zeros(1)
    seqs = np.zeros((1, 0), dtype=int)
    for t, turn in enumerate(dialogue.turns):
        allowed = space.mask_for(list(turn.present))
        na = normalised_association(np.asarray(turn.association), space)
        base = paper_reward(np.zeros(n), na, norm_costs, weights)  # reward without quality
        m = len(windows)
        w_rep = np.repeat(windows, n, 0)
        a_rep = np.tile(np.arange(n), m)
        new_spent = np.repeat(spent, n, 0) + cost[a_rep]
        keep = allowed[a_rep] & np.all(new_spent <= limit + TOL, axis=1)
        if not keep.any():
            raise ValueError(f"dialogue {dialogue.id}: no affordable action at turn {t}")
        w_rep, a_rep, new_spent = w_rep[keep], a_rep[keep], new_spent[keep]
        q = quality_fn(np.hstack([w_rep, codes[a_rep]]))
        total = np.repeat(total, n)[keep] + weights.quality * q + base[a_rep]
        seqs = np.hstack([np.repeat(seqs, n, 0)[keep], a_rep[:, None]])
        spent = new_spent
        if t + 1 < len(dialogue.turns):
            nxt = np.array([step_state(space.actions[a], dialogue.turns[t + 1].task) for a in range(n)])
            windows = np.hstack([w_rep[:, STEP_DIM:], nxt[a_rep]])
    best = int(np.argmax(total))
    return seqs[best].tolist(), float(total[best])
