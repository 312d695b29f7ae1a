"""LCIO-Bench observation: what the app knows when it decides, as 33 numbers plus the prompt's
hashed word counts, and the task classifier that fills its first 13 (layout in
`policies.bench_policy`'s docstring)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from policies.base import Action, ActionSpace, TurnContext
from policies.bench.dataset import BenchTurn
from policies.bench.prompt_features import PROMPT_DIM, prompt_counts
from policies.bench.tasks import TASKS
from policies.profiles import RESOURCES

BENCH_SPACE = ActionSpace(slots=3, local_subsets=True)
# Nominal per-dialogue budgets (policies/README.md says how they were chosen): M4A1's 30 s;
# about 2.5× the dollars always-cloud spends on a mean dialogue and 1.4× the joules
# always-local spends, so both naive policies overspend on their longer dialogues, and the
# worst-case guard must refuse turns once budgets shrink.
BENCH_BUDGETS: dict[str, float] = {"latency_s": 30.0, "usd": 0.0006, "energy_j": 120.0}
SLOTS = 3
_T = len(TASKS)  # 13: v1's eight tasks and the five v2 adds
TASK = slice(0, _T)
IMAGE = slice(_T, _T + 3)
AUDIO = slice(_T + 3, _T + 6)
PROMPT_LEN, TURN, PREV_LOC = _T + 6, _T + 7, _T + 8
PREV_SLOTS = slice(_T + 9, _T + 12)
FRAC = slice(_T + 12, _T + 15)
REMAIN = slice(_T + 15, _T + 18)
HEARD, SEEN = _T + 18, _T + 19
PROMPT = slice(_T + 20, _T + 20 + PROMPT_DIM)  # hashed prompt word counts (`prompt_features`)
OBS_DIM = PROMPT.stop
BIG = 1e6
ARTIFACT_VERSION = 2  # 2: 13 tasks (v2), 33 numbers + hashed prompt


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
    obs[PROMPT] = prompt_counts(prompt)
    return obs


def observation_space() -> gym.spaces.Box:
    low = np.zeros(OBS_DIM, dtype=np.float32)
    high = np.ones(OBS_DIM, dtype=np.float32)
    high[PROMPT_LEN], high[TURN] = 100.0, BIG
    low[PREV_LOC] = -1.0
    low[FRAC] = -10.0
    low[REMAIN], high[REMAIN] = -BIG, BIG
    high[PROMPT] = BIG
    return gym.spaces.Box(low, high, dtype=np.float32)


def kinds_from_obs(obs: np.ndarray | Sequence[float]) -> tuple[str, ...]:
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


def context_observation(context: TurnContext, classifier: TaskClassifier,
                        space: ActionSpace = BENCH_SPACE) -> np.ndarray:
    """The bench layout for what the app knows about a turn; the task from `classifier`, which
    the caller hands in (the shipped policy's in the app, the trained one in an evaluation)."""
    kinds = tuple(context.kinds)[: space.slots]
    previous = None
    if context.past_actions and context.past_actions[-1] < space.n:
        previous = space.actions[context.past_actions[-1]]
    task = classifier.predict(context.prompt, kinds)
    return bench_observation(task, kinds, context.prompt, context.turn_index, previous,
                             context.remaining, context.limits, tuple(context.earlier_kinds))
