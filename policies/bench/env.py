"""LCIO-Bench as a Gymnasium CMDP: outcomes from the measured row of each turn and action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np

from policies.base import Action, ActionSpace
from policies.bench.dataset import BenchTurn
from policies.bench.observation import (
    BENCH_BUDGETS,
    BENCH_SPACE,
    BenchWeights,
    TaskClassifier,
    bench_observation,
    observation_space,
)
from policies.bench.outcome import OutcomeModel, affordable
from policies.profiles import RESOURCES


@dataclass
class BenchEnvConfig:
    budgets: dict[str, float] = field(default_factory=lambda: dict(BENCH_BUDGETS))
    # "fixed"; "scale": every budget × U(scale_range); "paper": the paper's RC draw, a normal
    # clipped to [lo, hi] × nominal (centre of the range, sd a sixth of it)
    budget_sampling: Literal["fixed", "scale", "paper"] = "fixed"
    scale_range: tuple[float, float] = (0.3, 1.7)
    weights: BenchWeights = field(default_factory=BenchWeights)
    overspend: Literal["none", "zero_reward"] = "none"
    guard: bool = True  # refuse the turn when no action's worst case fits


class BenchEnv(gym.Env):
    """Gymnasium CMDP over bench dialogues: one episode a dialogue, one step a turn.

    `step` returns the plain reward; `info["costs"]` the measured seconds, dollars and joules.
    With `guard`, `action_masks()` also hides actions whose worst case does not fit, and a
    turn where nothing fits is refused (`info["refused"]`): quality 0, nothing spent. A
    negative action refuses the turn explicitly (the oracle's plan when nothing fits).
    """

    metadata: ClassVar[dict[str, list[str]]] = {"render_modes": []}

    def __init__(self, dialogues: list[list[BenchTurn]], classifier: TaskClassifier,
                 outcomes: OutcomeModel, config: BenchEnvConfig | None = None,
                 space: ActionSpace = BENCH_SPACE):
        super().__init__()
        self.dialogues, self.classifier, self.outcomes = dialogues, classifier, outcomes
        self.cfg, self.space = config or BenchEnvConfig(), space
        self.action_space = gym.spaces.Discrete(space.n)
        self.observation_space = observation_space()
        self._tasks = [[classifier.predict(t.prompt, t.kinds) for t in d] for d in dialogues]
        self._worst: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}
        self._subset_index = {a: i for i, a in enumerate(space.actions)}
        # cascades (actions past the space, `policies.bench.routers.cascade_action`): whether
        # to escalate after the local answer; None = the rule (empty, short, loop, refusal)
        self.escalate: Callable[[str], bool] | None = None
        self._i, self._t = 0, 0
        self._previous: Action | None = None
        self.budgets = dict(self.cfg.budgets)
        self.remaining = dict(self.budgets)

    @property
    def turn(self) -> BenchTurn:
        return self.dialogues[self._i][self._t]

    @property
    def task(self) -> int:
        return self._tasks[self._i][self._t]

    def _sample_budgets(self) -> dict[str, float]:
        b = dict(self.cfg.budgets)
        lo, hi = self.cfg.scale_range
        for r in RESOURCES:
            if not np.isfinite(b[r]):
                continue
            if self.cfg.budget_sampling == "scale":
                b[r] *= float(self.np_random.uniform(lo, hi))
            elif self.cfg.budget_sampling == "paper":
                b[r] *= float(np.clip(self.np_random.normal((lo + hi) / 2, (hi - lo) / 6), lo, hi))
        return b

    def _obs(self) -> np.ndarray:
        d = self.dialogues[self._i]
        if self._t >= len(d):  # terminal: nothing left to decide
            return bench_observation(0, (), "", self._t, self._previous, self.remaining,
                                     self.budgets, self.earlier())
        t = self.turn
        return bench_observation(self.task, t.kinds, t.prompt, self._t, self._previous,
                                 self.remaining, self.budgets, self.earlier())

    def earlier(self) -> tuple[str, ...]:
        """Kinds of the files the dialogue's earlier turns carried."""
        return tuple(k for t in self.dialogues[self._i][: self._t] for k in t.kinds)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        i = options.get("dialogue")
        self._i = int(self.np_random.integers(len(self.dialogues))) if i is None else int(i)
        self.budgets = {**self._sample_budgets(), **options.get("budgets", {})}
        self.remaining = dict(self.budgets)
        self._t, self._previous = 0, None
        return self._obs(), {"dialogue": self.turn.dialogue, "budgets": dict(self.budgets)}

    def worst_costs(self) -> np.ndarray:
        """[n, 3] worst-case cost of every action this turn, as the guard sees it."""
        key = (self.task, self.turn.kinds, "audio" in self.earlier())
        if key not in self._worst:
            self._worst[key] = self.outcomes.predict(*key, space=self.space)[2]
        return self._worst[key]

    def presence_mask(self) -> np.ndarray:
        return self.space.mask_for(list(self.turn.present))

    def action_masks(self) -> np.ndarray:
        """Absent attachments and, with the guard, actions whose worst case does not fit."""
        m = self.presence_mask()
        if self.cfg.guard:
            m &= affordable(np.array([self.remaining[r] for r in RESOURCES]), self.worst_costs())
        return m

    def project(self, action: int) -> int:
        """The action that is really taken: slots that hold nothing are not sent."""
        a = self.space.actions[int(action)]
        n = len(self.turn.kinds)
        kept = tuple(i for i in a.attachments if i < n)
        return self._subset_index[Action(a.location, kept)]

    def _measured(self, a: int) -> tuple[float, dict[str, float]]:
        t = self.turn
        return (float(np.nan_to_num(t.quality[a])),
                {r: float(np.nan_to_num(getattr(t, r)[a])) for r in RESOURCES})

    def _cascade(self, local: int, cloud: int) -> tuple[int, float, dict[str, float], bool]:
        """Local first; if its answer looks weak, the cloud too: (action whose answer is
        kept, its quality, both calls' costs when escalated, escalated)."""
        from policies.bench.routers import weak_answer

        q, costs = self._measured(local)
        judge = self.escalate or weak_answer
        if not judge(self.turn.answers.get(local, "")):
            return local, q, costs, False
        q_cloud, extra = self._measured(cloud)
        return cloud, q_cloud, {r: costs[r] + extra[r] for r in RESOURCES}, True

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        from policies.bench.routers import cascade_parts

        t = self.turn
        refused = int(action) < 0 or (self.cfg.guard and not self.action_masks().any())
        parts = cascade_parts(self.space, int(action)) if int(action) >= self.space.n else None
        a = self.project(max(int(action), 0) if parts is None else parts[0])
        escalated = False
        if refused:
            q, costs = 0.0, {r: 0.0 for r in RESOURCES}
        elif parts is not None:
            a, q, costs, escalated = self._cascade(a, self.project(parts[1]))
        else:
            q, costs = self._measured(a)
        for r in RESOURCES:
            self.remaining[r] -= costs[r]
        over = {r: max(0.0, -self.remaining[r]) for r in RESOURCES if np.isfinite(self.budgets[r])}
        over_any = any(v > 1e-12 for v in over.values())
        plain = 0.0 if refused else float(self.cfg.weights.reward(q, costs["latency_s"], costs["usd"],
                                                                   costs["energy_j"]))
        reward = 0.0 if (self.cfg.overspend == "zero_reward" and over_any) else plain
        info = {"quality": q, "costs": costs, "over_budget": over_any, "overspend": over,
                "remaining": dict(self.remaining), "action": a, "refused": refused,
                "cascade": parts is not None and not refused, "escalated": escalated,
                "reward_plain": plain, "ttft_s": 0.0 if refused else float(np.nan_to_num(t.ttft_s[a]))}
        self._previous = None if refused else self.space.actions[a]
        self._t += 1
        done = self._t >= len(self.dialogues[self._i])
        return self._obs(), reward, done, False, info


# ------------------------------------------------------------------------------ policies
