"""A person's reward weights at decision time, on the bench's plain reward.

The bench policies are trained on quality − per_s·seconds − per_usd·dollars (`BenchWeights`).
The settings' sliders are the paper's weights: quality 1, latency 1/3, cost 1/3, where a cost
weight of 1 means "the dearest call costs one quality point". At those defaults the trained
objective is kept exactly (the evaluations stay what they measured); away from them:
- quality scales the quality term (and what ratings taught): 2 values quality twice as much,
  0 leaves only the costs;
- latency and cost add their departure from the default in the paper's units, one weight point
  per dearest call (`units`, the policy's Lagrange units), to the trained coefficient, never
  below zero: cost 2 makes the dearest cloud call cost ~1.7 quality points more, so the
  policy answers locally unless the cloud is far better; 0 removes the dollars term.
"""

from __future__ import annotations

import numpy as np

from policies.base import RewardWeights
from policies.bench.observation import BenchWeights

DEFAULT = RewardWeights()


def coefficients(weights: RewardWeights, trained: BenchWeights, units: np.ndarray
                 ) -> tuple[float, float, float]:
    """(per quality point, per second, per dollar) of the steered reward."""
    per_s = max(0.0, trained.per_s + (weights.latency - DEFAULT.latency) / max(float(units[0]), 1e-12))
    per_usd = max(0.0, trained.per_usd + (weights.cost - DEFAULT.cost) / max(float(units[1]), 1e-12))
    return float(weights.quality), per_s, per_usd


def steered(q: np.ndarray, mean: np.ndarray, reward: np.ndarray, weights: RewardWeights | None,
            trained: BenchWeights, units: np.ndarray) -> np.ndarray:
    """`reward` (the trained per-action reward for quality `q` and mean costs `mean`
    [n, (latency, usd, energy)]) as `weights` would have it: the departure from the defaults
    is added, so whatever else the trained reward holds is kept."""
    if weights is None or weights == DEFAULT:
        return reward
    wq, per_s, per_usd = coefficients(weights, trained, units)
    _, base_s, base_usd = coefficients(DEFAULT, trained, units)
    return (reward + (wq - 1.0) * q - (per_s - base_s) * mean[:, 0]
            - (per_usd - base_usd) * mean[:, 1])
