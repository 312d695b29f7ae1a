"""The hard budget guard: actions whose worst-case cost exceeds what is left are masked.

The one worst-case rule of the policy side: an action is affordable when, for every resource
with a finite budget, its worst-case cost is at most what remains (+ `TOL`). M4A1 knows its
costs exactly (worst case = the cost table, optionally × a factor); LCIO-Bench bounds them by
the worst case seen in training (`policies.bench.outcome.OutcomeModel`). Both call `fits`.

It sits between the observation and any policy, so a policy that respects its mask can
never overspend. If even the cheapest action is unaffordable the mask is all False and the
caller must refuse the turn rather than answer.
"""

from __future__ import annotations

import numpy as np

TOL = 1e-12


def fits(remaining: np.ndarray, worst: np.ndarray) -> np.ndarray:
    """[n] bool: row i of `worst` ([n, resources]) fits in `remaining` ([resources])."""
    return np.all(np.asarray(worst) <= np.asarray(remaining, dtype=np.float64)[None, :] + TOL, axis=1)


def affordable_mask(remaining: dict[str, float], action_costs: dict[str, np.ndarray],
                    worst_case_factor: float = 1.0) -> np.ndarray:
    """True where every resource's worst-case cost fits in what remains of its budget.

    `worst_case_factor` > 1 covers cost models that are estimates (the app's real calls).
    """
    n = len(next(iter(action_costs.values())))
    bounded = [r for r in action_costs if r in remaining and np.isfinite(remaining[r])]
    if not bounded:
        return np.ones(n, dtype=bool)
    worst = np.stack([np.asarray(action_costs[r], dtype=np.float64) * worst_case_factor for r in bounded], 1)
    return fits(np.array([remaining[r] for r in bounded]), worst)
