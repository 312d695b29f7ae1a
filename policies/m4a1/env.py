"""A constrained MDP over logged dialogues: one episode is one dialogue, one step one turn.

Reward and costs are kept apart (as OmniSafe's CMDP): `step` returns the paper's per-turn
reward, and `info["costs"]` the seconds, dollars and joules the action spent. Budgets are per
dialogue; they are fixed, or sampled per episode so that a budget-conditioned policy sees many.
The paper's training quirks are switches: `overspend="zero_reward"` (reward 0 once any budget
is exceeded) and `history="logged"` (next states follow the log, not the agent's actions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from policies.base import ActionSpace
from policies.guard import affordable_mask
from policies.m4a1.data import Dialogue
from policies.m4a1.features import (
    ASSOC,
    BIG,
    HIST,
    OBS_DIM,
    PRESENT,
    SPAN,
    STEP_DIM,
    build_observation,
    history_window,
    step_state,
)
from policies.m4a1.simulator import (
    QualityModel,
    RewardWeights,
    normalised_association,
    paper_reward,
    plain_reward,
)
from policies.profiles import PAPER_BUDGETS, RESOURCES, CostTable, cost_table


@dataclass
class EnvConfig:
    device: str = "Jetson TX2"
    network: str = "Wired"
    budgets: dict[str, float] = field(default_factory=lambda: dict(PAPER_BUDGETS))
    # "fixed"; "scale": each budget times U(scale_range); "paper": the paper's RC training
    # draw, a clipped normal between 5 local calls and 5 cloud calls with every view
    budget_sampling: Literal["fixed", "scale", "paper"] = "fixed"
    scale_range: tuple[float, float] = (0.3, 1.7)
    weights: RewardWeights = field(default_factory=RewardWeights)
    overspend: Literal["none", "zero_reward"] = "none"
    history: Literal["own", "logged"] = "own"
    guard: bool = True  # action_masks() also hides unaffordable actions


def observation_space() -> gym.spaces.Box:
    low = np.full(OBS_DIM, -BIG, dtype=np.float32)
    high = np.full(OBS_DIM, BIG, dtype=np.float32)
    low[HIST], high[HIST] = -1, 3
    low[PRESENT], high[PRESENT] = 0, 1
    low[ASSOC], high[ASSOC] = -1, BIG
    low[31], high[31] = 0, BIG
    low[32:35], high[32:35] = -10, 1
    return gym.spaces.Box(low, high, dtype=np.float32)


class OffloadEnv(gym.Env):
    """Gymnasium CMDP over `dialogues`, qualities from a k-NN `QualityModel`."""

    metadata = {"render_modes": []}

    def __init__(self, dialogues: list[Dialogue], quality: QualityModel,
                 config: EnvConfig | None = None, space: ActionSpace | None = None):
        super().__init__()
        self.dialogues, self.quality, self.cfg = dialogues, quality, config or EnvConfig()
        self.space = space or ActionSpace()
        self.costs_table: CostTable = cost_table(self.cfg.device, self.cfg.network, self.space)
        self.action_costs = self.costs_table.per_action()
        self.norm_costs = self.costs_table.normalised()
        self.action_space = gym.spaces.Discrete(self.space.n)
        self.observation_space = observation_space()
        self._dialogue = dialogues[0]
        self._t = 0
        self._states: list[list[float]] = []
        self.budgets = dict(self.cfg.budgets)
        self.remaining = dict(self.budgets)

    # --- episode bookkeeping -------------------------------------------------------------
    def _sample_budgets(self) -> dict[str, float]:
        b = dict(self.cfg.budgets)
        if self.cfg.budget_sampling == "scale":
            lo, hi = self.cfg.scale_range
            for r in ("latency_s", "usd"):
                b[r] = b[r] * float(self.np_random.uniform(lo, hi))
        elif self.cfg.budget_sampling == "paper":
            for r in ("latency_s", "usd"):
                lo, hi = SPAN * self.action_costs[r].min(), SPAN * self.action_costs[r].max()
                x = self.np_random.normal((lo + hi) / 2, (hi - lo) / 6)
                b[r] = float(np.clip(x, lo, hi))
        return b

    def _obs(self) -> np.ndarray:
        turns = self._dialogue.turns
        if self._t < len(turns):
            turn = turns[self._t]
            present, assoc = turn.present, turn.association
        else:  # terminal observation: nothing left to decide
            present, assoc = (False,) * self.space.slots, (0.0,) * self.space.slots
        return build_observation(self._states, present, assoc, self._t, self.remaining, self.budgets)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        i = options.get("dialogue")
        i = int(self.np_random.integers(len(self.dialogues))) if i is None else int(i)
        self._dialogue = self.dialogues[i]
        self.budgets = {**self._sample_budgets(), **options.get("budgets", {})}
        self.remaining = dict(self.budgets)
        self._t = 0
        self._states = [step_state(None, self._dialogue.turns[0].task)]
        return self._obs(), {"dialogue": self._dialogue.id, "budgets": dict(self.budgets)}

    # --- masks ----------------------------------------------------------------------------
    def presence_mask(self) -> np.ndarray:
        return self.space.mask_for(list(self._dialogue.turns[self._t].present))

    def action_masks(self) -> np.ndarray:
        """For MaskablePPO and every policy: absent attachments, and (guard) unaffordable."""
        m = self.presence_mask()
        if self.cfg.guard:
            m &= affordable_mask(self.remaining, self.action_costs)
        return m

    # --- dynamics -------------------------------------------------------------------------
    def outcome(self, action: int) -> dict[str, float]:
        """Quality, association and paper reward of `action` at the current turn."""
        turn = self._dialogue.turns[self._t]
        window = history_window(self._states)
        q = float(self.quality.predict(np.concatenate([window, self.quality._codes[action]]))[0])
        na = normalised_association(np.asarray(turn.association), self.space)
        r = paper_reward(np.array([q]), na[[action]], {k: v[[action]] for k, v in self.norm_costs.items()},
                         self.cfg.weights)[0]
        return {"quality": q, "association": float(na[action]), "reward_paper": float(r)}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = int(action)
        out = self.outcome(action)
        costs = {r: float(self.action_costs[r][action]) for r in RESOURCES}
        for r in RESOURCES:
            self.remaining[r] -= costs[r]
        over = {r: max(0.0, -self.remaining[r]) for r in RESOURCES if np.isfinite(self.budgets[r])}
        over_any = any(v > 1e-12 for v in over.values())
        reward = 0.0 if (self.cfg.overspend == "zero_reward" and over_any) else out["reward_paper"]
        info = {**out, "costs": costs, "over_budget": over_any, "overspend": over,
                "remaining": dict(self.remaining), "action": action,
                "reward_plain": plain_reward(out["quality"], costs["latency_s"], costs["usd"],
                                             self.cfg.weights)}
        turns = self._dialogue.turns
        self._t += 1
        done = self._t >= len(turns)
        if not done:
            prev = (self.space.actions[turns[self._t - 1].logged_action]
                    if self.cfg.history == "logged" else self.space.actions[action])
            if self.cfg.history == "logged":  # the paper's training env follows the log
                self._states = [step_state(None, turns[0].task)]
                for j in range(1, self._t + 1):
                    self._states.append(step_state(self.space.actions[turns[j - 1].logged_action],
                                                   turns[j].task))
            else:
                self._states.append(step_state(prev, turns[self._t].task))
        return self._obs(), float(reward), done, False, info


__all__ = ["OffloadEnv", "EnvConfig", "PAPER_BUDGETS", "STEP_DIM"]
