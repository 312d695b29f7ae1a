"""Training LCIO's M4A1 planner: its k-NN reward model fitted on the training dialogues, then the
Lagrange multipliers learned by dual ascent on rollouts with the guard off (so overspending is
seen and priced). The planner itself, and how it decides, is `policies.m4a1.rcrl`."""

from __future__ import annotations

import math

import numpy as np

from policies.lagrange import LagrangeTable
from policies.m4a1.data import Dialogue
from policies.m4a1.features import REMAIN, TURN
from policies.m4a1.rcrl import DialogueStats, RCRLConfig, RCRLPolicy
from policies.m4a1.simulator import QualityModel
from policies.profiles import RESOURCES, cost_table


def train_rcrl(train: list[Dialogue], config: RCRLConfig | None = None,
               progress: bool = True) -> tuple[RCRLPolicy, list[dict[str, float]]]:
    """Fit the reward model, then learn the multipliers by dual ascent on training rollouts.

    Returns the policy and a per-epoch log (mean reward, share of overspent dialogues, mean λ).
    """
    from tqdm.auto import tqdm

    from policies.m4a1.env import EnvConfig, OffloadEnv

    config = config or RCRLConfig()
    costs = cost_table(config.device, config.network)
    quality = QualityModel.fit(train, costs.space, ties=config.knn_ties)
    per_action = costs.per_action()
    resources = tuple(config.budgets)
    table = LagrangeTable(resources, tuple(float(per_action[r].max()) for r in resources), lr=config.lr)
    policy = RCRLPolicy(quality, costs, table, config=config,
                        stats=DialogueStats.fit(train, costs.space))
    budgets = {**{r: float("inf") for r in RESOURCES}, **config.budgets}
    env = OffloadEnv(train, quality, EnvConfig(config.device, config.network, budgets, "scale",
                                               config.scale_range, guard=False))
    rng = np.random.default_rng(config.seed)
    env.reset(seed=config.seed)
    log: list[dict[str, float]] = []
    idx = {r: RESOURCES.index(r) for r in resources}
    for epoch in tqdm(range(config.epochs), desc=f"rcrl seed {config.seed}", disable=not progress,
                      leave=False):
        samples: list[tuple[int, int, int, float]] = []
        rewards, over = [], []
        for i in rng.permutation(len(train)):
            obs, _ = env.reset(options={"dialogue": int(i)})
            steps, done = [], False
            while not done:
                # guard off while learning, so that overspending is seen and priced
                dec = policy.decide(obs, env.presence_mask(), guard=False)
                rem = obs[REMAIN].astype(np.float64)
                turn = int(obs[TURN])
                obs, r, done, _, info = env.step(dec.action)
                steps.append((turn, rem, np.array([info["costs"][x] for x in RESOURCES])))
                rewards.append(r)
            over.append(info["over_budget"])
            spent = np.array([s[2] for s in steps])
            future = np.cumsum(spent[::-1], axis=0)[::-1]
            for j, (turn, rem, _) in enumerate(steps):
                t_b, b_b = table.cell(turn, rem[[idx[r] for r in resources]])
                for k, res in enumerate(resources):
                    g = (future[j, idx[res]] - rem[idx[res]]) / table.units[k]
                    samples.append((k, t_b, int(b_b[k]), float(g)))
        table.dual_step(samples, lr=config.lr / math.sqrt(1 + epoch))
        log.append({"epoch": epoch, "reward": float(np.mean(rewards)), "over_share": float(np.mean(over)),
                    **{f"lambda_{r}": float(table.values[k].mean()) for k, r in enumerate(resources)}})
    return policy, log
