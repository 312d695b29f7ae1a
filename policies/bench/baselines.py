"""LCIO-Bench reference policies: local-only, cloud-only (every attachment), random, greedy."""

from __future__ import annotations

from itertools import product

import numpy as np

from policies.base import ActionSpace, Decision, Policy
from policies.bench.observation import (
    BENCH_SPACE,
    HEARD,
    SLOTS,
    TASK,
    BenchWeights,
    bench_observation,
    kinds_from_obs,
)
from policies.bench.outcome import OutcomeModel
from policies.bench.tasks import TASKS
from policies.holdgil import argmax


def _decision(space: ActionSpace, a: int, p: float, reason: str, **est: list[float]) -> Decision:
    act = space.actions[a]
    return Decision(a, act.location, act.attachments, p, dict(est), {}, reason)


class _Fullest(Policy):
    """Always `location`, with every attachment the mask allows (the most it can send)."""

    location: str = "local"
    uses_guard = False

    def __init__(self, space: ActionSpace = BENCH_SPACE):
        self.space = space

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        acts = self.space.actions
        ok: list[np.intp | int] = [i for i in np.flatnonzero(mask) if acts[i].location == self.location]
        ok = ok or list(np.flatnonzero(mask)) or [0]
        a = max(ok, key=lambda i: len(acts[i].attachments))
        return _decision(self.space, int(a), 1.0, f"always {self.location}, every attachment")


class BenchLocalOnly(_Fullest):
    name, location = "local-only", "local"


class BenchCloudOnly(_Fullest):
    name, location = "cloud-only", "cloud"


class BenchRandom(Policy):
    """The paper's random baseline: local with 1/2, cloud with 1/2, subsets uniform within."""

    name = "random"
    uses_guard = False

    def __init__(self, space: ActionSpace = BENCH_SPACE, seed: int = 0):
        self.space, self.rng = space, np.random.default_rng(seed)
        loc = np.array([a.location == "local" for a in space.actions])
        self.weights = np.where(loc, 0.5 / loc.sum(), 0.5 / (~loc).sum())

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        w = np.where(mask, self.weights, 0.0)
        w = w if w.sum() > 0 else np.ones_like(w)
        p = w / w.sum()
        a = int(self.rng.choice(len(p), p=p))
        return _decision(self.space, a, float(p[a]), "random")


ALL_KINDS: tuple[tuple[str, ...], ...] = tuple(
    k for n in range(SLOTS + 1) for k in product(("image", "audio"), repeat=n))


def _key_obs(task: int, kinds: tuple[str, ...], heard: bool) -> np.ndarray:
    return bench_observation(task, kinds, "", 0, None, {}, {}, ("audio",) if heard else ())


class _Estimates:
    """Per-(task, kinds) outcome estimates, cached: the decision is then a few array ops."""

    def __init__(self, outcomes: OutcomeModel, weights: BenchWeights, space: ActionSpace):
        self.outcomes, self.weights, self.space = outcomes, weights, space
        self._cache: dict[tuple[int, tuple[str, ...], bool],
                          tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        for task in range(len(TASKS)):  # warm every (task, file kinds) so no decision pays for it
            for kinds in ALL_KINDS:
                for heard in (False, True):
                    self(_key_obs(task, kinds, heard))

    def __call__(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(quality, mean costs, worst costs, expected plain reward) per action."""
        key = (argmax(obs[TASK]), kinds_from_obs(obs), bool(obs[HEARD] > 0.5))
        if key not in self._cache:
            q, mean, worst = self.outcomes.predict(*key, space=self.space)
            r = self.weights.reward(q, mean[:, 0], mean[:, 1], mean[:, 2])
            self._cache[key] = (q, mean, worst, r)
        return self._cache[key]


class BenchGreedy(Policy):
    """Best expected immediate plain reward; no budget planning, only the guard."""

    name = "greedy"
    uses_guard = True

    def __init__(self, outcomes: OutcomeModel, weights: BenchWeights | None = None,
                 space: ActionSpace = BENCH_SPACE):
        self.space = space
        self.est = _Estimates(outcomes, weights or BenchWeights(), space)

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        q, _, _, r = self.est(observation)
        a = int(np.argmax(np.where(mask, r, -np.inf))) if mask.any() else 0
        return _decision(self.space, a, 1.0, "best immediate reward", quality=q.tolist())
