"""The paper's RC recipe on LCIO-Bench with A2C and with PPO (unguarded, as in the paper)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from policies.base import ActionSpace, Decision, Policy
from policies.bench.baselines import (
    _decision,
)
from policies.bench.env import BenchEnv
from policies.bench.observation import (
    BENCH_SPACE,
)


class BenchRCA2C(Policy):
    """The paper's RC-A2C recipe on the bench: A2C (SB3 defaults) on `BenchEnv` with the
    remaining budgets in the observation, reward 0 after overspending, budgets drawn around
    the nominal ones, no guard and no mask (it may overspend, as in the paper)."""

    name = "rc-a2c (paper)"
    uses_guard = False

    def __init__(self, model: Any, space: ActionSpace = BENCH_SPACE):
        self.model, self.space = model, space

    algorithm = "A2C"

    @classmethod
    def train(cls, env: BenchEnv, seed: int, steps: int, cache: Path | None = None,
              progress: bool = True) -> BenchRCA2C:
        import stable_baselines3
        import torch

        algo = getattr(stable_baselines3, cls.algorithm)
        if cache is not None and cache.exists():
            return cls(algo.load(cache, device="cpu"))
        torch.set_num_threads(1)
        model = algo("MlpPolicy", env, seed=seed, device="cpu", verbose=0)
        if progress:
            model.learn(steps, callback=_TqdmCallback(steps, f"bench {cls.name} seed {seed}"))
        else:
            model.learn(steps)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            model.save(cache)
        return cls(model)

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        import torch
        with torch.no_grad():
            t, _ = self.model.policy.obs_to_tensor(np.asarray(observation, dtype=np.float32))
            probs = self.model.policy.get_distribution(t).distribution.probs[0].numpy()
        a = int(np.argmax(probs))
        return _decision(self.space, a, float(probs[a]), f"paper RC-{self.algorithm}")


class BenchRCPPO(BenchRCA2C):
    """The same recipe with PPO (SB3 defaults), as the paper's code also runs it."""

    name = "rc-ppo (paper)"
    algorithm = "PPO"


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
