"""LCIO-Bench as a Gymnasium CMDP: outcomes from the measured row of each turn and action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

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
from policies.bench.outcome import OutcomeModel
from policies.guard import TOL, admit, cheapest, pacing_reserve, turns_left
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
    guard: bool = True  # admit by quantile + pacing; refuse when nothing fits; cut at the budget
    quantile: float | None = None  # the guard's admission quantile (None: `LCIO_GUARD_QUANTILE`/0.8)
    pacing: bool = True  # keep the expected remaining turns' cheapest action in reserve


class BenchEnv(gym.Env):
    """Gymnasium CMDP over bench dialogues: one episode a dialogue, one step a turn.

    `step` returns the plain reward; `info["costs"]` the measured seconds, dollars and joules.
    With `guard`, `action_masks()` also hides actions `policies.guard.admit` does not let start
    (the quantile of their cost, plus the pacing reserve, must fit what is left), and a turn
    where nothing fits is refused (`info["refused"]`): quality 0, nothing spent. The quantile is
    not a promise, so an admitted turn whose measured cost would pass what is left is *cut*
    where the first budget runs out, as the app's deadline watchdog and dollar cap stop an
    answer (`info["cut"]`): quality 0 (the bench cannot replay half an answer), each resource
    charged what it measured, at most what was left. A negative action refuses the turn
    explicitly (the oracle's plan when nothing fits).
    """

    metadata: dict[str, Any] = {"render_modes": []}  # as gym.Env declares it

    def __init__(self, dialogues: list[list[BenchTurn]], classifier: TaskClassifier,
                 outcomes: OutcomeModel, config: BenchEnvConfig | None = None,
                 space: ActionSpace = BENCH_SPACE):
        super().__init__()
        self.dialogues, self.classifier, self.outcomes = dialogues, classifier, outcomes
        self.cfg, self.space = config or BenchEnvConfig(), space
        self.action_space = gym.spaces.Discrete(space.n)
        self.observation_space = observation_space()
        self._tasks = [[classifier.predict(t.prompt, t.kinds) for t in d] for d in dialogues]
        self._costs: dict[tuple[int, tuple[str, ...], bool], tuple[np.ndarray, np.ndarray]] = {}
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

    def _predicted(self, key: tuple[int, tuple[str, ...], bool] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """([n, 3] mean, [n, 3] guard bound) of every action this turn (or for `key`:
        task, file kinds, audio heard earlier)."""
        key = key or (self.task, self.turn.kinds, "audio" in self.earlier())
        if key not in self._costs:
            _, mean, bound = self.outcomes.predict(*key, space=self.space, quantile=self.cfg.quantile)
            self._costs[key] = (mean, bound)
        return self._costs[key]

    def worst_costs(self) -> np.ndarray:
        """[n, 3] cost of every action this turn as the guard bounds it (its quantile)."""
        return self._predicted()[1]

    def reserve(self) -> np.ndarray:
        """[3] the pacing reserve (`policies.guard.pacing_reserve`; zeros without pacing): the
        expected turns after this one, each answered by the cheapest action of a later turn
        (one without files, of this turn's task, with audio heard if any was, this turn's too:
        an answer about audio costs more)."""
        if not self.cfg.pacing:
            return np.zeros(len(RESOURCES))
        left = turns_left(self._t, self.outcomes.lengths)
        heard = "audio" in self.earlier() or "audio" in self.turn.kinds
        mean, bound = self._predicted((self.task, (), heard))
        i = cheapest(mean, self._remaining(), self.space.mask_for([False] * self.space.slots))
        return pacing_reserve(left, mean[i], bound[i]) if i >= 0 else np.zeros(len(RESOURCES))

    def _remaining(self) -> np.ndarray:
        return np.array([self.remaining[r] for r in RESOURCES])

    def presence_mask(self) -> np.ndarray:
        return self.space.mask_for(list(self.turn.present))

    def action_masks(self) -> np.ndarray:
        """Absent attachments and, with the guard, actions it does not let start."""
        m = self.presence_mask()
        if self.cfg.guard:
            m, _ = admit(self._remaining(), self.worst_costs(), reserve=self.reserve(), allowed=m)
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
        escalated = cut = False
        if refused:
            q, costs = 0.0, {r: 0.0 for r in RESOURCES}
        elif parts is not None:
            a, q, costs, escalated = self._cascade(a, self.project(parts[1]))
        else:
            q, costs = self._measured(a)
        if not refused and self.cfg.guard and any(costs[r] > max(self.remaining[r], 0.0) + TOL
                                                  for r in RESOURCES):
            q, cut = 0.0, True  # stopped where the budget ran out
            costs = {r: min(costs[r], max(self.remaining[r], 0.0)) for r in RESOURCES}
        for r in RESOURCES:
            self.remaining[r] -= costs[r]
        over = {r: max(0.0, -self.remaining[r]) for r in RESOURCES if np.isfinite(self.budgets[r])}
        over_any = any(v > 1e-12 for v in over.values())
        plain = 0.0 if refused else float(self.cfg.weights.reward(q, costs["latency_s"], costs["usd"],
                                                                   costs["energy_j"]))
        reward = 0.0 if (self.cfg.overspend == "zero_reward" and over_any) else plain
        info = {"quality": q, "costs": costs, "over_budget": over_any, "overspend": over,
                "remaining": dict(self.remaining), "action": a, "refused": refused, "cut": cut,
                "cascade": parts is not None and not refused, "escalated": escalated,
                "reward_plain": plain, "ttft_s": 0.0 if refused else float(np.nan_to_num(t.ttft_s[a]))}
        self._previous = None if refused else self.space.actions[a]
        self._t += 1
        done = self._t >= len(self.dialogues[self._i])
        return self._obs(), reward, done, False, info


# ------------------------------------------------------------------------------ policies
