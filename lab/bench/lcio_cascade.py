"""LCIO with a cascade action: answer locally, escalate to the cloud when the answer looks weak.

The cascade's value is learned like an action's quality: ridge regression on the prompt
features (`prompt_quality.context_features`) of the plain reward the cascade really earned on
each training turn (local with every file; when the weakness score of its answer reached the
threshold, the cloud with every file too, both calls' seconds and dollars counted). LCIO takes
the cascade when that value, less its budget price (local's, plus the cloud's times the
training escalation rate), beats its best single action, and the worst case of both calls fits
what is left. The evaluation plays it as an ablation ("lcio + cascade").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from policies.base import Decision, Policy
from policies.bench.dataset import BenchTurn
from policies.bench.observation import BENCH_SPACE, REMAIN, BenchWeights, kinds_from_obs
from policies.bench.outcome import affordable
from policies.bench.planner import BenchPlanner
from policies.bench.prompt_features import idf_weights
from policies.bench.prompt_quality import context_counts, context_features
from policies.bench.routers import WeaknessModel, cascade_action, fullest


@dataclass
class CascadeValue:
    """Expected plain reward of the cascade from the prompt features, and how often it escalated."""

    idf: np.ndarray
    weights: np.ndarray
    mean: float
    escalation_rate: float

    @classmethod
    def fit(cls, observations: np.ndarray, turns: list[BenchTurn], weakness: WeaknessModel,
            rewards: BenchWeights | None = None, alpha: float = 1.0) -> CascadeValue:
        w = rewards or BenchWeights()
        obs = np.asarray(observations, dtype=np.float64)
        idf = idf_weights(context_counts(obs))
        x = context_features(obs, idf)
        y, esc = [], []
        space = BENCH_SPACE
        for t in turns:
            a, c = fullest(space, t.kinds, "local"), fullest(space, t.kinds, "cloud")
            up = weakness.score(t.answers.get(a, "")) >= weakness.threshold
            esc.append(up)
            if up:
                y.append(w.reward(t.quality[c], t.latency_s[a] + t.latency_s[c], t.usd[a] + t.usd[c], 0.0))
            else:
                y.append(w.reward(t.quality[a], t.latency_s[a], t.usd[a], 0.0))
        y = np.nan_to_num(np.array(y))
        dual = np.linalg.solve(x @ x.T + alpha * np.eye(len(y)), y - y.mean())
        return cls(idf, x.T @ dual, float(y.mean()), float(np.mean(esc)))

    def predict(self, observation: np.ndarray) -> float:
        return float(self.mean + context_features(observation, self.idf)[0] @ self.weights)


class BenchLCIOCascade(Policy):
    """LCIO's decision, or the cascade where its learned value pays more (see the module)."""

    name = "lcio + cascade"
    uses_guard = True

    def __init__(self, lcio: BenchPlanner, value: CascadeValue, weakness: WeaknessModel):
        self.lcio, self.value, self.weakness, self.space = lcio, value, weakness, lcio.space

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        d = self.lcio.decide(observation, mask)
        if not np.asarray(mask).any() or "price" not in d.estimates:
            return d
        kinds = kinds_from_obs(observation)
        local, cloud = fullest(self.space, kinds, "local"), fullest(self.space, kinds, "cloud")
        price = np.asarray(d.estimates["price"])
        best = d.estimates["reward"][d.action] - price[d.action]
        value = self.value.predict(observation) - price[local] - self.value.escalation_rate * price[cloud]
        worst = self.lcio.predicted(observation)[2]
        remaining = np.asarray(observation[REMAIN], dtype=np.float64)
        fits = affordable(remaining, (worst[local] + worst[cloud])[None])[0]
        if mask[local] and mask[cloud] and fits and value > best:
            act = self.space.actions[local]
            return Decision(cascade_action(self.space, local), act.location, act.attachments, 1.0,
                            d.estimates, d.multipliers,
                            f"local first, cloud if weak: expected {value:.2f} vs {best:.2f}")
        return d

    def escalate(self, answer: str) -> bool:
        return self.weakness.score(answer) >= self.weakness.threshold
