"""The M4A1 family's reference policies: local-only, the paper's two random baselines (a random
cloud action, and local or cloud at random, each drawing from a copy of the split's generator
as the paper's run does), and a fixed sequence (the oracle's plan replayed)."""

from __future__ import annotations

import random

import numpy as np

from policies.base import ActionSpace, Decision, Policy


def _decision(space: ActionSpace, a: int, p: float, reason: str, **est: list[float]) -> Decision:
    act = space.actions[a]
    return Decision(a, act.location, act.attachments, p, dict(est), {}, reason)


class LocalOnly(Policy):
    name = "local-only"
    uses_guard = False

    def __init__(self, space: ActionSpace | None = None):
        self.space = space or ActionSpace()

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        return _decision(self.space, 0, 1.0, "always local")


class FixedSequence(Policy):
    """Plays a given list of actions; replays the oracle's plan through the same env."""

    name = "fixed"
    uses_guard = False

    def __init__(self, actions: list[int], space: ActionSpace | None = None):
        self.actions, self.space, self._t = list(actions), space or ActionSpace(), 0

    def reset(self) -> None:
        self._t = 0

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        a = self.actions[self._t]
        self._t += 1
        return _decision(self.space, a, 1.0, "planned in hindsight")


class PaperCloud(Policy):
    """The paper's cloud baseline: a uniformly random cloud action from the split's generator."""

    name, uses_guard = "cloud (random subsets)", False

    def __init__(self, rng: random.Random, n_actions: int = 9):
        self.rng, self.cloud = rng, list(range(1, n_actions))

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        a = self.rng.choice(self.cloud)
        return Decision(a, "cloud", (), 1 / len(self.cloud), reason="random cloud action")


class PaperRandom(Policy):
    """The paper's random baseline: local with 1/2, each cloud action with 1/16."""

    name, uses_guard = "random", False

    def __init__(self, rng: random.Random, n_actions: int = 9):
        self.rng, self.n = rng, n_actions
        self.weights = [0.5] + [0.5 / (n_actions - 1)] * (n_actions - 1)

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        a = self.rng.choices(range(self.n), weights=self.weights, k=1)[0]
        return Decision(a, "local" if a == 0 else "cloud", (), self.weights[a], reason="random")


def fork(rng: random.Random) -> random.Random:
    """A generator in `rng`'s state: each baseline draws the stream the paper's run gives it."""
    out = random.Random()
    out.setstate(rng.getstate())
    return out
