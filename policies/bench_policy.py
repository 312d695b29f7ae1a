"""Policies on LCIO-Bench, where every action's outcome is measured: no k-NN guessing.

What is different from M4A1 (`policies.env`, `policies.rcrl`):
- Action space `BENCH_SPACE` = ActionSpace(slots=3, local_subsets=True): local or cloud, each
  with any subset of the turn's attachment slots (images and audio both take slots, as the
  benchmark built them: images first, then audio).
- Outcomes: `BenchEnv.step` takes quality, seconds, dollars and joules from the measured row
  of that turn and action. An action that names an empty slot sends only the slots that exist.
- Observation (`bench_observation`, `OBS_DIM` = 28): only what the app knows when it decides,
  never the benchmark's hidden labels (task, relevance):

      [0:8)   predicted task, one-hot over the bench's 8 tasks (`TaskClassifier` on the prompt
              and the attachment kinds, fitted on training dialogues)
      [8:11)  slot i holds an image          [11:14) slot i holds audio
      [14]    prompt length / 100 chars      [15]    turn index (0-based)
      [16]    previous location (-1 none, 0 local, 1 cloud)   [17:20) slots used last turn
      [20:23) remaining budget fractions (seconds, dollars, joules), 1 = untouched
      [23:26) remaining budgets in their units, capped at BIG
      [26]    an earlier turn of the dialogue carried audio   [27] ... carried an image
              (the conversation sent with each call carries earlier files: audio there is
              the largest cloud cost the bench measured)

- Guard: a policy cannot know this turn's cost before acting, so the hard guard uses the
  worst case seen in training for the action's shape (`OutcomeModel.worst`); when no action's
  worst case fits what is left the turn is refused (quality 0, no cost) instead of overspent.
- Reward (`BenchWeights`, the plain reward): quality − 0.02·seconds − 20·dollars per turn;
  budgets are hard constraints (`info["costs"]`), not reward terms.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np

from policies.base import Action, ActionSpace, Decision, Policy, RatingLearner, TurnContext
from policies.bench.dataset import BenchTurn
from policies.bench.scenarios import TASKS
from policies.guard import TOL
from policies.lagrange import LagrangeTable
from policies.profiles import RESOURCES

BENCH_SPACE = ActionSpace(slots=3, local_subsets=True)
# Nominal per-dialogue budgets (policies/README.md says how they were chosen): M4A1's 30 s;
# about 2.5× the dollars always-cloud spends on a mean dialogue and 1.4× the joules
# always-local spends, so both naive policies overspend on their longer dialogues, and the
# worst-case guard must refuse turns once budgets shrink.
BENCH_BUDGETS: dict[str, float] = {"latency_s": 30.0, "usd": 0.0006, "energy_j": 120.0}
SLOTS = 3
TASK = slice(0, 8)
IMAGE = slice(8, 11)
AUDIO = slice(11, 14)
PROMPT_LEN, TURN, PREV_LOC = 14, 15, 16
PREV_SLOTS = slice(17, 20)
FRAC = slice(20, 23)
REMAIN = slice(23, 26)
HEARD, SEEN = 26, 27
OBS_DIM = 28
BIG = 1e6
ARTIFACT_VERSION = 1


@dataclass(frozen=True)
class BenchWeights:
    """Plain reward per turn: quality − per_s·seconds − per_usd·dollars − per_j·joules."""

    per_s: float = 0.02  # one quality point per 50 s
    per_usd: float = 20.0  # one quality point per 5 cents
    per_j: float = 0.0  # energy is a budget, not a reward term

    def reward(self, quality: Any, latency_s: Any, usd: Any, energy_j: Any) -> Any:
        return quality - self.per_s * latency_s - self.per_usd * usd - self.per_j * energy_j


# ------------------------------------------------------------------------------ features
def bench_observation(task: int, kinds: tuple[str, ...] | list[str], prompt: str, turn: int,
                      previous: Action | None, remaining: dict[str, float],
                      budgets: dict[str, float], earlier: tuple[str, ...] | list[str] = ()
                      ) -> np.ndarray:
    """The layout in the module docstring, from what the app knows at decision time
    (`earlier`: the kinds of the files earlier turns of the dialogue carried)."""
    obs = np.zeros(OBS_DIM, dtype=np.float32)
    obs[HEARD] = float("audio" in earlier)
    obs[SEEN] = float("image" in earlier)
    obs[TASK.start + int(task)] = 1.0
    for i, k in enumerate(list(kinds)[:SLOTS]):
        obs[(IMAGE if k == "image" else AUDIO).start + i] = 1.0
    obs[PROMPT_LEN] = min(len(prompt) / 100.0, 100.0)
    obs[TURN] = float(turn)
    if previous is not None:
        obs[PREV_LOC] = 0.0 if previous.location == "local" else 1.0
        for i in previous.attachments:
            obs[PREV_SLOTS.start + i] = 1.0
    else:
        obs[PREV_LOC] = -1.0
    for j, r in enumerate(RESOURCES):
        b, left = budgets.get(r, math.inf), remaining.get(r, math.inf)
        obs[FRAC.start + j] = (1.0 if not np.isfinite(b) else
                               float(np.clip(left / b, -10.0, 1.0)) if b > 0 else 0.0)
        obs[REMAIN.start + j] = float(np.clip(left, -BIG, BIG))
    return obs


def observation_space() -> gym.spaces.Box:
    low = np.zeros(OBS_DIM, dtype=np.float32)
    high = np.ones(OBS_DIM, dtype=np.float32)
    high[PROMPT_LEN], high[TURN] = 100.0, BIG
    low[PREV_LOC] = -1.0
    low[FRAC] = -10.0
    low[REMAIN], high[REMAIN] = -BIG, BIG
    return gym.spaces.Box(low, high, dtype=np.float32)


def kinds_from_obs(obs: np.ndarray) -> tuple[str, ...]:
    """Slot kinds encoded in an observation (slots fill from 0, so stop at the first gap)."""
    out = []
    for i in range(SLOTS):
        if obs[IMAGE.start + i] > 0.5:
            out.append("image")
        elif obs[AUDIO.start + i] > 0.5:
            out.append("audio")
        else:
            break
    return tuple(out)


_WORD = re.compile(r"[a-z']+")


@dataclass
class TaskClassifier:
    """Multinomial naive Bayes over prompt words plus attachment-kind tokens (8 bench tasks).

    Cheap (< 0.1 ms), offline, and fitted on training dialogues only; its input is what the
    app has: the typed prompt and which kinds of files came with it.
    """

    vocab: dict[str, int] = field(default_factory=dict)
    log_prior: list[float] = field(default_factory=list)
    log_lik: list[list[float]] = field(default_factory=list)  # [task][word]

    @staticmethod
    def tokens(prompt: str, kinds: tuple[str, ...] | list[str]) -> list[str]:
        c = Counter(kinds)
        return (_WORD.findall(prompt.lower())
                + [f"__{k}{min(n, 3)}__" for k, n in c.items()] + [f"__n{len(kinds)}__"])

    @classmethod
    def fit(cls, turns: list[BenchTurn], alpha: float = 0.5) -> TaskClassifier:
        docs = [(cls.tokens(t.prompt, t.kinds), t.task_id) for t in turns]
        vocab: dict[str, int] = {}
        for toks, _ in docs:
            for w in toks:
                vocab.setdefault(w, len(vocab))
        counts = np.full((len(TASKS), len(vocab)), alpha)
        prior = np.ones(len(TASKS))
        for toks, y in docs:
            prior[y] += 1
            for w in toks:
                counts[y, vocab[w]] += 1
        lik = np.log(counts / counts.sum(1, keepdims=True))
        return cls(vocab, np.log(prior / prior.sum()).tolist(), lik.tolist())

    def __post_init__(self) -> None:
        self._prior = np.asarray(self.log_prior, dtype=np.float64)
        self._lik = np.asarray(self.log_lik, dtype=np.float64)

    def predict(self, prompt: str, kinds: tuple[str, ...] | list[str]) -> int:
        idx = [self.vocab[w] for w in self.tokens(prompt, kinds) if w in self.vocab]
        scores = self._prior + (self._lik[:, idx].sum(1) if idx else 0.0)
        return int(np.argmax(scores))

    def to_dict(self) -> dict:
        return {"vocab": self.vocab, "log_prior": self.log_prior, "log_lik": self.log_lik}


# ------------------------------------------------------------------------------ outcome model
def action_shape(action: Action, kinds: tuple[str, ...]) -> tuple[str, int, int, int, int]:
    """What an action does with this turn's files: (location, images used, audio used,
    images left out, audio left out). Slot indices beyond the files are ignored."""
    used = [kinds[i] for i in action.attachments if i < len(kinds)]
    ui, ua = used.count("image"), used.count("audio")
    return (action.location, ui, ua, kinds.count("image") - ui, kinds.count("audio") - ua)


def _key(shape: tuple) -> str:
    return "|".join(str(x) for x in shape)


def _quality_keys(task: int, shape: tuple) -> tuple[str, ...]:
    """Coarse to fine: all, location, what is sent (location, images, audio), the same per
    task, and per task with what is left out too. The middle levels carry what was learned
    to file layouts the training turns never had (e.g. one image and one audio)."""
    used = _key(shape[:3])
    return ("*", shape[0], f"u:{used}", f"{task}#u:{used}", f"{task}#{_key(shape)}")


@dataclass
class OutcomeModel:
    """Quality and costs an action is expected to have, learned from training turns only.

    Quality: mean measured score per (predicted task, action shape), shrunk towards the mean
    per (task, what is sent), per what is sent and per location (`shrink` pseudo-counts).
    Costs: mean per (predicted
    task, location, images used, audio used); `worst` is the largest cost seen for it (for
    the shape alone where the task has under 20 measurements) times `margin`: the guard's
    worst case.
    """

    quality: dict[str, list[float]]  # key -> [sum, count] at every level
    cost_mean: dict[str, list[float]]  # cost key -> [latency, usd, energy]
    cost_worst: dict[str, list[float]]
    shrink: float = 3.0
    margin: float = 1.25  # the guard's worst case = margin × largest cost seen
    min_task_samples: ClassVar[int] = 20  # class constant: fewer measurements fall back to the shape's worst

    @classmethod
    def fit(cls, turns: list[BenchTurn], tasks: list[int], space: ActionSpace = BENCH_SPACE,
            shrink: float = 3.0, heard: list[bool] | None = None) -> OutcomeModel:
        """`heard[i]`: an earlier turn of turn i's dialogue carried audio (costs depend on it)."""
        q: dict[str, list[float]] = {}
        costs: dict[str, list[list[float]]] = {}
        heard = heard or [False] * len(turns)
        for t, task, h in zip(turns, tasks, heard, strict=True):
            mask = space.mask_for(list(t.present))
            for a in np.flatnonzero(mask):
                act = space.actions[a]
                shape = action_shape(act, t.kinds)
                qa = float(np.nan_to_num(t.quality[a]))
                for k in _quality_keys(task, shape):
                    s = q.setdefault(k, [0.0, 0.0])
                    s[0] += qa
                    s[1] += 1
                if t.valid[a]:
                    c = [float(np.nan_to_num(getattr(t, r)[a])) for r in RESOURCES]
                    k = _key(shape[:3])
                    for key in (k, f"{task}#{k}", f"{k}@{int(h)}", f"{task}#{k}@{int(h)}"):
                        costs.setdefault(key, []).append(c)
        mean = {k: np.mean(v, 0).tolist() for k, v in costs.items()}
        # the guard's worst case for a finer key only where enough turns back it up
        worst = {k: np.max(v, 0).tolist() for k, v in costs.items()
                 if ("#" not in k and "@" not in k) or len(v) >= cls.min_task_samples}
        return cls(q, mean, worst, shrink)

    def _q(self, task: int, shape: tuple) -> float:
        est = self.quality.get("*", [0.0, 1.0])
        est = est[0] / max(est[1], 1)
        for k in _quality_keys(task, shape)[1:]:  # coarse to fine
            s, n = self.quality.get(k, (0.0, 0.0))
            est = (s + self.shrink * est) / (n + self.shrink)
        return est

    def _cost(self, table: dict[str, list[float]], shape: tuple, task: int, heard: bool,
              lowest: bool = False) -> list[float]:
        """The finest key's costs; with `lowest` (worst cases) the lowest of the bounds that
        apply: each is the largest cost seen in a population this turn belongs to."""
        k = _key(shape[:3])
        keys = [key for key in (f"{task}#{k}@{int(heard)}", f"{k}@{int(heard)}", f"{task}#{k}", k)
                if key in table]
        if keys:
            return np.min([table[key] for key in keys], 0).tolist() if lowest else table[keys[0]]
        # unseen shape: the most expensive cost seen at that location (safe for the guard)
        same = [v for key, v in table.items() if key.startswith(shape[0] + "|") or
                f"#{shape[0]}|" in key]
        return np.max(same, 0).tolist() if same else [0.0, 0.0, 0.0]

    def predict(self, task: int, kinds: tuple[str, ...], heard: bool = False,
                space: ActionSpace = BENCH_SPACE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(quality [n], mean costs [n, 3], worst-case costs [n, 3]) for every action."""
        shapes = [action_shape(a, kinds) for a in space.actions]
        q = np.array([self._q(task, s) for s in shapes])
        mean = np.array([self._cost(self.cost_mean, s, task, heard) for s in shapes])
        worst = np.array([self._cost(self.cost_worst, s, task, heard, lowest=True)
                          for s in shapes]) * self.margin
        return q, mean, worst

    def to_dict(self) -> dict:
        return asdict(self)


def affordable(remaining: np.ndarray, worst: np.ndarray) -> np.ndarray:
    """True where the worst case of every resource fits in what is left ([n] bool)."""
    return np.all(worst <= np.asarray(remaining)[None, :] + TOL, axis=1)


# ------------------------------------------------------------------------------ environment
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

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        t = self.turn
        refused = int(action) < 0 or (self.cfg.guard and not self.action_masks().any())
        a = self.project(max(int(action), 0))
        if refused:
            q, costs = 0.0, {r: 0.0 for r in RESOURCES}
        else:
            q = float(np.nan_to_num(t.quality[a]))
            costs = {r: float(np.nan_to_num(getattr(t, r)[a])) for r in RESOURCES}
        for r in RESOURCES:
            self.remaining[r] -= costs[r]
        over = {r: max(0.0, -self.remaining[r]) for r in RESOURCES if np.isfinite(self.budgets[r])}
        over_any = any(v > 1e-12 for v in over.values())
        plain = 0.0 if refused else float(self.cfg.weights.reward(q, costs["latency_s"], costs["usd"],
                                                                   costs["energy_j"]))
        reward = 0.0 if (self.cfg.overspend == "zero_reward" and over_any) else plain
        info = {"quality": q, "costs": costs, "over_budget": over_any, "overspend": over,
                "remaining": dict(self.remaining), "action": a, "refused": refused,
                "reward_plain": plain, "ttft_s": 0.0 if refused else float(np.nan_to_num(t.ttft_s[a]))}
        self._previous = None if refused else self.space.actions[a]
        self._t += 1
        done = self._t >= len(self.dialogues[self._i])
        return self._obs(), reward, done, False, info


# ------------------------------------------------------------------------------ policies
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
        ok = [i for i in np.flatnonzero(mask) if acts[i].location == self.location]
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
        self._cache: dict[tuple[int, tuple[str, ...]], tuple[np.ndarray, ...]] = {}
        for task in range(len(TASKS)):  # warm every (task, file kinds) so no decision pays for it
            for kinds in ALL_KINDS:
                for heard in (False, True):
                    self(_key_obs(task, kinds, heard))

    def __call__(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(quality, mean costs, worst costs, expected plain reward) per action."""
        key = (int(np.argmax(obs[TASK])), kinds_from_obs(obs), bool(obs[HEARD] > 0.5))
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


@dataclass
class BenchRCRLConfig:
    seed: int = 0
    epochs: int = 60
    lr: float = 0.5  # dual step size, decayed as lr / sqrt(1 + epoch)
    scale_range: tuple[float, float] = (0.3, 1.7)  # training budgets: nominal × U(range)
    budgets: dict[str, float] = field(default_factory=lambda: dict(BENCH_BUDGETS))
    weights: BenchWeights = field(default_factory=BenchWeights)
    shrink: float = 3.0
    margin: float = 1.25  # measured costs are noisy: a held-out turn once cost 1.11× the max seen
    temperature: float = 0.05  # only for the reported probability; decisions are argmax
    tolerance: float = 0.02  # allowed mean shortfall per decision, in units of the dearest call


class BenchRCRLPolicy(Policy, RatingLearner):
    """LCIO's RCRL on the bench: argmax over allowed actions of
    q̂(task, shape) − w·ĉ(a) − Σ_k λ_k(turn, remaining_k) · ĉ_k(a)/unit_k, with the hard guard
    on worst-case costs. q̂ and ĉ come from `OutcomeModel` (training turns' measurements);
    λ from a `LagrangeTable` learned by dual ascent on training rollouts (see `train`): in each
    (turn, remaining budget) cell, λ_k rises when later turns of the dialogue were refused for
    lack of resource k and decays otherwise."""

    name = "lcio-rcrl"
    uses_guard = True

    def __init__(self, classifier: TaskClassifier, outcomes: OutcomeModel, table: LagrangeTable,
                 config: BenchRCRLConfig | None = None, space: ActionSpace = BENCH_SPACE,
                 offsets: np.ndarray | None = None):
        self.classifier, self.outcomes, self.table = classifier, outcomes, table
        self.config, self.space = config or BenchRCRLConfig(), space
        self.est = _Estimates(outcomes, self.config.weights, space)
        self._units = np.asarray(table.units, dtype=np.float64)
        self.offsets = np.zeros((len(TASKS), space.n)) if offsets is None else np.asarray(offsets)

    def decide(self, observation: np.ndarray, mask: np.ndarray, guard: bool = True) -> Decision:
        q, mean, worst, r = self.est(observation)
        task = int(np.argmax(observation[TASK]))
        q = q + self.offsets[task]
        r = r + self.offsets[task]
        remaining = np.asarray(observation[REMAIN], dtype=np.float64)
        lam = self.table.lookup(int(observation[TURN]), remaining)
        price = (mean / self._units[None, :]) @ lam
        allowed = np.asarray(mask, dtype=bool).copy()
        why = ""
        if guard:  # defence in depth: never trust the caller to have applied the guard
            guarded = allowed & affordable(remaining, worst)
            if guarded.any():
                allowed = guarded
            elif allowed.any():
                # the caller (the app) guards its own real costs, which it knows better than
                # the bench's worst cases: choose among what it allows rather than refuse
                why = " (the bench's worst case fits nowhere; the caller's guard allows it)"
        if not allowed.any():
            return Decision(0, "local", (), 0.0, {}, {}, "no action is affordable: refuse the turn")
        score = np.where(allowed, r - price, -np.inf)
        a = int(np.argmax(score))
        z = np.exp((score - score[a]) / self.config.temperature)
        act = self.space.actions[a]
        return Decision(a, act.location, act.attachments, float(z[a] / z.sum()),
                        {"quality": q.tolist(), "reward": r.tolist(), "price": price.tolist(),
                         "latency_s": mean[:, 0].tolist(), "usd": mean[:, 1].tolist(),
                         "energy_j": mean[:, 2].tolist()},
                        dict(zip(self.table.resources, lam.tolist(), strict=False)),
                        f"{act.location} with {len(act.attachments)} attachment(s): expected "
                        f"reward {r[a]:.2f}, budget price {price[a]:.2f}{why}")

    def observe(self, context: TurnContext) -> np.ndarray:
        """The contract's observation: the bench layout, the task from this policy's classifier."""
        from policies.observation import bench_context_observation

        return bench_context_observation(context, self.space, self.classifier)

    def observe_turn(self, prompt: str, kinds: tuple[str, ...] | list[str], turn: int,
                     previous: Action | None, remaining: dict[str, float],
                     budgets: dict[str, float], earlier: tuple[str, ...] | list[str] = ()) -> np.ndarray:
        """The same observation from loose arguments (the evaluator's timing of it)."""
        task = self.classifier.predict(prompt, tuple(kinds))
        return bench_observation(task, tuple(kinds), prompt, turn, previous, remaining, budgets,
                                 tuple(earlier))

    def estimates(self, observation: np.ndarray) -> dict[str, np.ndarray]:
        """Per-action quality estimate (with rating offsets), for the app's learning figure."""
        q = self.est(observation)[0] + self.offsets[self.task_of(observation)]
        return {"quality": q}

    @staticmethod
    def task_of(observation: np.ndarray) -> int:
        """The predicted task the observation carries (index into the bench's TASKS)."""
        return int(np.argmax(np.asarray(observation)[TASK]))

    RATING_SCALE = 0.5  # the app rates on 0..2 (M4A1's scale); bench quality is 0..1

    def update_from_rating(self, task: int, action: int, rating: float, predicted: float | None = None,
                           lr: float = 0.2) -> float:
        """Move q̂(task, action) toward a person's rating (given on the app's 0..2 scale)."""
        if predicted is None:
            predicted = 0.5 + float(self.offsets[task, action])
        self.offsets[task, action] += lr * (float(rating) * self.RATING_SCALE - float(predicted))
        return float(self.offsets[task, action])

    # --- training and persistence -------------------------------------------------------
    @classmethod
    def train(cls, dialogues: list[list[BenchTurn]], config: BenchRCRLConfig | None = None,
              progress: bool = True) -> tuple[BenchRCRLPolicy, list[dict[str, float]]]:
        """Fit classifier and outcome model on `dialogues`, then the multipliers by dual
        ascent on rollouts of the same dialogues with measured costs and sampled budgets."""
        from tqdm.auto import tqdm

        config = config or BenchRCRLConfig()
        turns = [t for d in dialogues for t in d]
        clf = TaskClassifier.fit(turns)
        tasks = [clf.predict(t.prompt, t.kinds) for t in turns]
        heard = [any("audio" in e.kinds for e in d[: t.index]) for d in dialogues for t in d]
        outcomes = OutcomeModel.fit(turns, tasks, shrink=config.shrink, heard=heard)
        outcomes.margin = config.margin
        units = tuple(max(max(v[j] for k, v in outcomes.cost_mean.items() if "#" not in k), 1e-9)
                      for j in range(len(RESOURCES)))
        table = LagrangeTable(RESOURCES, units, lr=config.lr)
        policy = cls(clf, outcomes, table, config)
        env = BenchEnv(dialogues, clf, outcomes,
                       BenchEnvConfig(dict(config.budgets), "scale", config.scale_range,
                                      config.weights, guard=True))
        env.reset(seed=config.seed)
        rng = np.random.default_rng(config.seed)
        log: list[dict[str, float]] = []
        for epoch in tqdm(range(config.epochs), desc=f"bench rcrl seed {config.seed}",
                          disable=not progress, leave=False):
            samples: list[tuple[int, int, int, float]] = []
            rewards, refused = [], []
            for i in rng.permutation(len(dialogues)):
                obs, _ = env.reset(options={"dialogue": int(i)})
                steps, done = [], False
                while not done:
                    mask = env.action_masks()
                    rem = obs[REMAIN].astype(np.float64)
                    turn = int(obs[TURN])
                    # A refused turn is what running out costs: charge the shortfall of its
                    # cheapest action's worst case, so λ rises where early spending leaves
                    # later turns unanswerable.
                    short = np.zeros(len(RESOURCES))
                    if not mask.any():
                        over = env.worst_costs()[env.presence_mask()] - rem[None, :]
                        short = np.maximum(over[np.argmin((over / np.asarray(units)).max(1))], 0.0)
                    action = policy.decide(obs, mask).action if mask.any() else -1
                    obs, rwd, done, _, info = env.step(action)
                    steps.append((turn, rem, short, info["refused"]))
                    rewards.append(rwd)
                    refused.append(info["refused"])
                # Constraint per decision: the shortfall it leaves to later turns (in units of
                # the dearest call) stays under `tolerance`. The guard already makes spending
                # over budget impossible, so running short (refusing) is what λ must price.
                short = np.array([s[2] for s in steps])
                later = np.concatenate([np.cumsum(short[::-1], axis=0)[::-1][1:],
                                        np.zeros((1, len(RESOURCES)))])
                for j, (turn, rem, _, was_refused) in enumerate(steps):
                    if was_refused:
                        continue
                    t_b, b_b = table.cell(turn, rem)
                    for k in range(len(RESOURCES)):
                        g = later[j, k] / units[k] - config.tolerance
                        samples.append((k, t_b, int(b_b[k]), float(g)))
            table.dual_step(samples, lr=config.lr / math.sqrt(1 + epoch))
            log.append({"epoch": epoch, "reward": float(np.mean(rewards)),
                        "refused_share": float(np.mean(refused)),
                        **{f"lambda_{r}": float(table.values[k].mean()) for k, r in enumerate(RESOURCES)}})
        return policy, log

    def save(self, path: str | Path, command: str = "", extra: dict | None = None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        cfg = asdict(self.config)
        doc = {"version": ARTIFACT_VERSION, "policy": self.name, "dataset_format": "lcio-bench",
               "action_space": {"slots": self.space.slots, "local_subsets": self.space.local_subsets},
               "observation": "policies.bench_policy.bench_observation (OBS_DIM 28)",
               "command": command, "config": cfg, "lagrange": self.table.to_dict(),
               "classifier": self.classifier.to_dict(), "outcomes": self.outcomes.to_dict(),
               "offsets": self.offsets.tolist(), **(extra or {})}
        path.write_text(json.dumps(doc))

    @classmethod
    def load(cls, path: str | Path) -> BenchRCRLPolicy:
        doc = json.loads(Path(path).read_text())
        cfg = dict(doc["config"])
        cfg["scale_range"] = tuple(cfg["scale_range"])
        cfg["weights"] = BenchWeights(**cfg["weights"])
        space = ActionSpace(**doc["action_space"])
        return cls(TaskClassifier(**doc["classifier"]), OutcomeModel(**doc["outcomes"]),
                   LagrangeTable.from_dict(doc["lagrange"]), BenchRCRLConfig(**cfg), space,
                   np.asarray(doc["offsets"]))


def is_bench_policy_file(path: str | Path) -> bool:
    try:
        return json.loads(Path(path).read_text()).get("dataset_format") == "lcio-bench"
    except (OSError, ValueError, AttributeError):
        return False


# ------------------------------------------------------------------------------ oracle
def oracle_plan(dialogue: list[BenchTurn], budgets: dict[str, float],
                weights: BenchWeights | None = None, space: ActionSpace = BENCH_SPACE,
                cap: int = 2_000_000) -> tuple[list[int], float]:
    """Best measured action sequence in hindsight: maximum summed plain reward whose measured
    spending fits every budget (-1 = refuse the turn). Exhaustive level by level (the bench's
    masks keep it small; beyond `cap` partial sequences it keeps the best-scoring ones)."""
    weights = weights or BenchWeights()
    limit = np.array([budgets.get(r, math.inf) for r in RESOURCES])
    spent = np.zeros((1, 3))
    total = np.zeros(1)
    seqs = np.zeros((1, 0), dtype=int)
    for t in dialogue:
        acts = np.flatnonzero(space.mask_for(list(t.present)))
        cost = np.stack([np.nan_to_num(getattr(t, r)[acts]) for r in RESOURCES], 1)
        q = np.nan_to_num(t.quality[acts])
        r = weights.reward(q, cost[:, 0], cost[:, 1], cost[:, 2])
        # refusing (-1: no answer, nothing spent) is always possible, so the oracle also
        # bounds a policy that overspends and forfeits the turns after it
        acts = np.append(acts, -1)
        cost = np.vstack([cost, np.zeros((1, 3))])
        r = np.append(r, 0.0)
        m, k = len(total), len(acts)
        new_spent = np.repeat(spent, k, 0) + np.tile(cost, (m, 1))
        keep = np.all(new_spent <= limit + TOL, axis=1)
        total = (np.repeat(total, k) + np.tile(r, m))[keep]
        seqs = np.hstack([np.repeat(seqs, k, 0), np.tile(acts, m)[:, None]])[keep]
        spent = new_spent[keep]
        if len(total) > cap:
            top = np.argsort(-total)[:cap]
            total, seqs, spent = total[top], seqs[top], spent[top]
    best = int(np.argmax(total))
    return seqs[best].tolist(), float(total[best])


class Planned(Policy):
    """Replays a fixed plan (the oracle's); -1 refuses the turn."""

    name = "planned"
    uses_guard = False

    def __init__(self, plan: list[int], space: ActionSpace = BENCH_SPACE):
        self.plan, self.space, self._t = list(plan), space, 0

    def reset(self) -> None:
        self._t = 0

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        a = self.plan[self._t]
        self._t += 1
        if a < 0:
            return Decision(-1, "local", (), 1.0, reason="nothing fits: refuse")
        return _decision(self.space, a, 1.0, "planned in hindsight")


# ------------------------------------------------------------------------------ paper recipe
class BenchRCA2C(Policy):
    """The paper's RC-A2C recipe on the bench: A2C (SB3 defaults) on `BenchEnv` with the
    remaining budgets in the observation, reward 0 after overspending, budgets drawn around
    the nominal ones, no guard and no mask (it may overspend, as in the paper)."""

    name = "rc-a2c (paper)"
    uses_guard = False

    def __init__(self, model: Any, space: ActionSpace = BENCH_SPACE):
        self.model, self.space = model, space

    @classmethod
    def train(cls, env: BenchEnv, seed: int, steps: int, cache: Path | None = None,
              progress: bool = True) -> BenchRCA2C:
        import torch
        from stable_baselines3 import A2C

        if cache is not None and cache.exists():
            return cls(A2C.load(cache, device="cpu"))
        torch.set_num_threads(1)
        model = A2C("MlpPolicy", env, seed=seed, device="cpu", verbose=0)
        if progress:
            from policies.baselines import _TqdmCallback
            model.learn(steps, callback=_TqdmCallback(steps, f"bench rc-a2c seed {seed}"))
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
        return _decision(self.space, a, float(probs[a]), "paper RC-A2C")
