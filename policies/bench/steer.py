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


LADDER = (RewardWeights(), RewardWeights(cost=1.0), RewardWeights(cost=2.0), RewardWeights(latency=2.0),
          RewardWeights(quality=0.0), RewardWeights(quality=2.0, cost=1.0))


def cloud_shares(dataset: str, policy_path: str | None = None) -> dict[str, float]:
    """Share of the file's turns the app's policy answers in the cloud, per weight setting
    (turn 0 of a roomy budget each, so only the weights differ)."""
    from policies.base import Preferences
    from policies.bench.dataset import load_bench
    from policies.registry import load_app_policy

    policy = load_app_policy(policy_path)
    roomy = {"latency_s": 1e4, "usd": 10.0, "energy_j": 1e6}
    turns = [(policy.observe_turn(t.prompt, t.kinds, t.index, None, roomy, roomy),
              policy.space.mask_for(list(t.present))) for t in load_bench(dataset).turns]
    return {f"quality {w.quality:.2f}, latency {w.latency:.2f}, cost {w.cost:.2f}":
            float(np.mean([policy.decide_with(o, m, Preferences(w)).location == "cloud"
                           for o, m in turns])) for w in LADDER}


if __name__ == "__main__":  # python -m policies.bench.steer assets/bench/lcio-bench-v1.jsonl
    import sys

    for label, share in cloud_shares(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None).items():
        print(f"{label}: cloud {share:.1%}")
