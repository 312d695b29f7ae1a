"""Reference policies: local-only, cloud-only, random, a greedy one-step rule, the paper's
RC-A2C recipe, and a fixed sequence (used to replay the oracle's plan through the env)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from policies.base import ActionSpace, Decision, Policy
from policies.m4a1.data import TASKS, Dialogue
from policies.m4a1.features import ASSOC, HIST, REMAIN
from policies.m4a1.simulator import RewardWeights, normalised_association, paper_reward
from policies.profiles import CostTable


def _decision(space: ActionSpace, a: int, p: float, reason: str, **est: list[float]) -> Decision:
    act = space.actions[a]
    return Decision(a, act.location, act.attachments, p, dict(est), {}, reason)


def _masked_choice(rng: np.random.Generator, weights: np.ndarray, mask: np.ndarray) -> tuple[int, float]:
    w = np.where(mask, weights, 0.0)
    if w.sum() <= 0:
        w = mask.astype(float) if mask.any() else np.ones_like(weights)
    p = w / w.sum()
    a = int(rng.choice(len(p), p=p))
    return a, float(p[a])


class LocalOnly(Policy):
    name = "local-only"
    uses_guard = False

    def __init__(self, space: ActionSpace | None = None):
        self.space = space or ActionSpace()

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        return _decision(self.space, 0, 1.0, "always local")


class CloudOnly(Policy):
    """The paper's cloud baseline: a uniformly random cloud action (any view subset)."""

    name = "cloud-only"
    uses_guard = False

    def __init__(self, space: ActionSpace | None = None, seed: int = 0):
        self.space, self.rng = space or ActionSpace(), np.random.default_rng(seed)
        self.weights = np.array([a.location == "cloud" for a in self.space.actions], dtype=float)

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        a, p = _masked_choice(self.rng, self.weights, mask)
        return _decision(self.space, a, p, "always cloud")


class RandomPolicy(Policy):
    """The paper's random baseline: local with 1/2, each cloud action with 1/16."""

    name = "random"
    uses_guard = False

    def __init__(self, space: ActionSpace | None = None, seed: int = 0):
        self.space, self.rng = space or ActionSpace(), np.random.default_rng(seed)
        n_cloud = sum(a.location == "cloud" for a in self.space.actions)
        self.weights = np.array([0.5 if a.location == "local" else 0.5 / n_cloud
                                 for a in self.space.actions])

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        a, p = _masked_choice(self.rng, self.weights, mask)
        return _decision(self.space, a, p, "random")


class GreedyOneStep(Policy):
    """Best immediate paper reward, with quality from a (task, action) table of logged means.

    No history, no look-ahead, no budget planning: it spends while the guard lets it.
    """

    name = "greedy"
    uses_guard = True

    def __init__(self, train: list[Dialogue], costs: CostTable, weights: RewardWeights | None = None):
        self.space, self.weights = costs.space, weights or RewardWeights()
        self.norm_costs = costs.normalised()
        n = self.space.n
        sums, cnt = np.zeros((len(TASKS), n)), np.zeros((len(TASKS), n))
        for d in train:
            for t in d.turns:
                sums[t.task, t.logged_action] += t.quality
                cnt[t.task, t.logged_action] += 1
        per_action = sums.sum(0) / np.maximum(cnt.sum(0), 1)
        per_action[cnt.sum(0) == 0] = sums.sum() / max(cnt.sum(), 1)
        self.table = np.where(cnt > 0, sums / np.maximum(cnt, 1), per_action[None, :])

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        task = int(round(float(observation[HIST][-1])))
        q = self.table[task]
        r = paper_reward(q, normalised_association(observation[ASSOC], self.space),
                         self.norm_costs, self.weights)
        a = int(np.argmax(np.where(mask, r, -np.inf))) if mask.any() else 0
        return _decision(self.space, a, 1.0, "best immediate reward", quality=q.tolist(),
                         reward=r.tolist())


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


# --- the paper's RC-A2C recipe -------------------------------------------------------------
PAPER_STEPS = 30_000


def paper_observation(obs: np.ndarray) -> np.ndarray:
    """The paper's RC state: 25 history numbers + raw remaining seconds and dollars."""
    return np.concatenate([obs[HIST], obs[REMAIN][:2]]).astype(np.float32)


class RCA2C(Policy):
    """The paper's recipe: A2C (SB3 defaults), budget in the observation, reward 0 after
    overspending, budgets drawn from the paper's normal range, next states from the log,
    30k steps. No guard at evaluation: it may overspend, as in the paper."""

    name = "rc-a2c (paper)"
    uses_guard = False

    def __init__(self, model, space: ActionSpace | None = None):  # model: sb3 A2C
        self.model, self.space = model, space or ActionSpace()

    @classmethod
    def train(cls, train: list[Dialogue], seed: int, steps: int = PAPER_STEPS,
              cache: Path | None = None, progress: bool = True) -> RCA2C:
        import gymnasium as gym
        import torch
        from stable_baselines3 import A2C

        from policies.m4a1.env import EnvConfig, OffloadEnv
        from policies.m4a1.simulator import QualityModel

        if cache is not None and cache.exists():
            return cls(A2C.load(cache, device="cpu"))
        torch.set_num_threads(1)
        cfg = EnvConfig(budget_sampling="paper", overspend="zero_reward", history="logged", guard=False)
        env = OffloadEnv(train, QualityModel.fit(train), cfg)
        low = np.concatenate([env.observation_space.low[HIST], [-1e6, -1e6]]).astype(np.float32)
        space = gym.spaces.Box(low, -low, dtype=np.float32)
        wrapped = gym.wrappers.TransformObservation(env, paper_observation, space)
        model = A2C("MlpPolicy", wrapped, seed=seed, device="cpu", verbose=0)
        model.learn(steps, callback=_TqdmCallback(steps, f"rc-a2c seed {seed}") if progress else None)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            model.save(cache)
        return cls(model)

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        import torch
        x = paper_observation(observation)
        with torch.no_grad():
            t, _ = self.model.policy.obs_to_tensor(x)
            probs = self.model.policy.get_distribution(t).distribution.probs[0].numpy()
        a = int(np.argmax(probs))
        return _decision(self.space, a, float(probs[a]), "paper RC-A2C", probability=probs.tolist())


def _TqdmCallback(total: int, desc: str):  # noqa: N802 - a factory that reads like a class
    from stable_baselines3.common.callbacks import BaseCallback
    from tqdm.auto import tqdm

    class Cb(BaseCallback):
        def _on_training_start(self) -> None:
            self.bar = tqdm(total=total, desc=desc, leave=False)

        def _on_step(self) -> bool:
            self.bar.update(self.training_env.num_envs)
            return True

        def _on_training_end(self) -> None:
            self.bar.close()

    return Cb()
