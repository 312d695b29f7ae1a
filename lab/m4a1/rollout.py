"""Run a policy through the environment on held-out dialogues and summarise what happened.

Metric names here are the ones in the evaluate table and results.json.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from policies.base import Policy
from policies.guard import affordable_mask
from policies.m4a1.env import OffloadEnv


@dataclass
class EpisodeResult:
    rewards_paper: list[float] = field(default_factory=list)  # per turn, before the zero rule
    rewards_plain: list[float] = field(default_factory=list)
    qualities: list[float] = field(default_factory=list)
    over_after: list[bool] = field(default_factory=list)  # any budget exceeded after this turn
    latency_s: float = 0.0
    usd: float = 0.0
    energy_j: float = 0.0
    overspend: dict[str, float] = field(default_factory=dict)
    cloud_calls: int = 0
    actions: list[int] = field(default_factory=list)
    decide_s: list[float] = field(default_factory=list)

    @property
    def reward_paper(self) -> float:
        """The paper's reported reward: per-turn mean, turns after overspending count 0."""
        return float(np.mean([0.0 if o else r for r, o
                              in zip(self.rewards_paper, self.over_after, strict=False)]))


def run_episode(env: OffloadEnv, policy: Policy, dialogue: int, budgets: dict[str, float]) -> EpisodeResult:
    obs, _ = env.reset(options={"dialogue": dialogue, "budgets": budgets})
    policy.reset()
    res, done = EpisodeResult(), False
    guard = policy.uses_guard
    while not done:
        mask = env.presence_mask()
        if guard:
            m = mask & affordable_mask(env.remaining, env.action_costs)
            mask = m if m.any() else mask  # nothing affordable: unreachable at sane budgets
        t0 = time.perf_counter()
        dec = policy.decide(obs, mask)
        res.decide_s.append(time.perf_counter() - t0)
        obs, _, done, _, info = env.step(dec.action)
        res.rewards_paper.append(info["reward_paper"])
        res.rewards_plain.append(info["reward_plain"])
        res.qualities.append(info["quality"])
        res.over_after.append(info["over_budget"])
        res.latency_s += info["costs"]["latency_s"]
        res.usd += info["costs"]["usd"]
        res.energy_j += info["costs"]["energy_j"]
        res.cloud_calls += int(env.space.actions[dec.action].location == "cloud")
        res.actions.append(dec.action)
        res.overspend = info["overspend"]
    return res


def summarise(episodes: list[EpisodeResult], oracle_reward: float | None = None) -> dict[str, float]:
    """Per-policy metrics over dialogues (one seed)."""
    turns = sum(len(e.actions) for e in episodes)
    times = np.concatenate([e.decide_s for e in episodes]) * 1e3
    out = {
        "reward_paper": float(np.mean([e.reward_paper for e in episodes])),
        "reward_plain": float(np.mean([np.mean(e.rewards_plain) for e in episodes])),
        "quality": float(np.mean([np.mean(e.qualities) for e in episodes])),
        "latency_s": float(np.mean([e.latency_s for e in episodes])),
        "usd": float(np.mean([e.usd for e in episodes])),
        "over_budget_share": float(np.mean([any(v > 1e-12 for v in e.overspend.values()) for e in episodes])),
        "overspend_latency_s": float(np.mean([e.overspend.get("latency_s", 0.0) for e in episodes])),
        "overspend_usd": float(np.mean([e.overspend.get("usd", 0.0) for e in episodes])),
        "cloud_share": float(sum(e.cloud_calls for e in episodes) / max(turns, 1)),
        "decide_ms_p50": float(np.percentile(times, 50)),
        "decide_ms_p99": float(np.percentile(times, 99)),
    }
    if oracle_reward:
        out["oracle_share"] = out["reward_paper"] / oracle_reward
    return out
