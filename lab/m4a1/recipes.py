"""The paper's RL recipe, with A2C (as published) and with PPO (its stronger variant).

As in the paper's code: SB3 defaults, `MlpPolicy`, observation = the 25-number history plus
the raw remaining seconds and dollars, budgets drawn per episode from a clipped normal between
five local calls and five cloud calls with every view, reward 0 once a budget is exceeded,
next states that follow the log, 30k steps. Its training env is judged by the same simulator
the evaluator uses, as in the paper (the recipe is advantaged there, LCIO is not).
Evaluation takes the most probable action with no guard: it may overspend, as in the paper.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from policies.base import ActionSpace, Decision, Policy
from policies.m4a1.data import Dialogue
from policies.m4a1.features import HIST, REMAIN

PAPER_STEPS = 30_000
ALGORITHMS = ("a2c", "ppo")


def recipe_observation(obs: np.ndarray) -> np.ndarray:
    """The paper's RC state: 25 history numbers + raw remaining seconds and dollars."""
    return np.concatenate([obs[HIST], obs[REMAIN][:2]]).astype(np.float32)


def _algorithm(name: str):
    from stable_baselines3 import A2C, PPO

    return {"a2c": A2C, "ppo": PPO}[name]


class PaperRecipe(Policy):
    """A trained SB3 actor played deterministically (argmax of its action distribution)."""

    uses_guard = False

    def __init__(self, model, algorithm: str, space: ActionSpace | None = None):
        self.model, self.algorithm, self.space = model, algorithm, space or ActionSpace()
        self.name = f"paper recipe ({algorithm.upper()})"

    @classmethod
    def train(cls, train: list[Dialogue], simulator, seed: int, algorithm: str = "a2c",
              steps: int = PAPER_STEPS, cache: Path | None = None) -> PaperRecipe:
        """Train (or load from `cache`) on `train`, judged by `simulator` (predict, _codes)."""
        import gymnasium as gym
        import torch

        from policies.m4a1.env import EnvConfig, OffloadEnv

        algo = _algorithm(algorithm)
        if cache is not None and cache.exists():
            return cls(algo.load(cache, device="cpu"), algorithm)
        torch.set_num_threads(1)
        cfg = EnvConfig(budget_sampling="paper", overspend="zero_reward", history="logged", guard=False)
        env = OffloadEnv(train, simulator, cfg)
        low = np.concatenate([env.observation_space.low[HIST], [-1e6, -1e6]]).astype(np.float32)
        space = gym.spaces.Box(low, -low, dtype=np.float32)
        wrapped = gym.wrappers.TransformObservation(env, recipe_observation, space)
        model = algo("MlpPolicy", wrapped, seed=seed, device="cpu", verbose=0)
        model.learn(steps)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            model.save(cache)
        return cls(model, algorithm)

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        import torch

        with torch.no_grad():
            t, _ = self.model.policy.obs_to_tensor(recipe_observation(observation))
            probs = self.model.policy.get_distribution(t).distribution.probs[0].numpy()
        a = int(np.argmax(probs))
        act = self.space.actions[a]
        return Decision(a, act.location, act.attachments, float(probs[a]),
                        {"probability": probs.tolist()}, {}, self.name)
