"""The hard budget guard: actions whose worst-case cost exceeds what is left are masked.

It sits between the observation and any policy, so a policy that respects its mask can
never overspend. If even the cheapest action is unaffordable the mask is all False and the
caller must refuse the turn rather than answer.
"""

from __future__ import annotations

import numpy as np

TOL = 1e-12


def affordable_mask(remaining: dict[str, float], action_costs: dict[str, np.ndarray],
                    worst_case_factor: float = 1.0) -> np.ndarray:
    """True where every resource's worst-case cost fits in what remains of its budget.

    `worst_case_factor` > 1 covers cost models that are estimates (the app's real calls).
    """
    n = len(next(iter(action_costs.values())))
    ok = np.ones(n, dtype=bool)
    for r, cost in action_costs.items():
        if r in remaining and np.isfinite(remaining[r]):
            ok &= np.asarray(cost) * worst_case_factor <= remaining[r] + TOL
    return ok
