"""How far a person's weights move the app's policy: `python -m lab.bench.steer FILE [POLICY]`
prints the share of a bench file's turns answered in the cloud per weight setting."""

from __future__ import annotations

import numpy as np

from policies.artifacts import load_app_policy
from policies.base import Preferences, RewardWeights
from policies.bench.dataset import load_bench

LADDER = (RewardWeights(), RewardWeights(cost=1.0), RewardWeights(cost=2.0), RewardWeights(latency=2.0),
          RewardWeights(quality=0.0), RewardWeights(quality=2.0, cost=1.0))


def cloud_shares(dataset: str, policy_path: str | None = None) -> dict[str, float]:
    """Share of the file's turns the app's policy answers in the cloud, per weight setting
    (turn 0 of a roomy budget each, so only the weights differ)."""
    policy = load_app_policy(policy_path)
    roomy = {"latency_s": 1e4, "usd": 10.0, "energy_j": 1e6}
    turns = [(policy.observe_turn(t.prompt, t.kinds, t.index, None, roomy, roomy),
              policy.space.mask_for(list(t.present))) for t in load_bench(dataset).turns]
    return {f"quality {w.quality:.2f}, latency {w.latency:.2f}, cost {w.cost:.2f}":
            float(np.mean([policy.decide_with(o, m, Preferences(w)).location == "cloud"
                           for o, m in turns])) for w in LADDER}


if __name__ == "__main__":  # python -m lab.bench.steer assets/bench/lcio-bench-v1.jsonl
    import sys

    for label, share in cloud_shares(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None).items():
        print(f"{label}: cloud {share:.1%}")
