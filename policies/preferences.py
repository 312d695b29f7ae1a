"""What people's ratings teach: per-session preferences on top of a shared prior that moves
with shrinkage, so that one rating, or one person, cannot flip everyone's decisions.

A rating of action a on a turn of task t becomes a `Lesson`: its residual, the rating minus
the policy's own estimate, on the app's 0..2 rating scale. For every (task, action):

- a session's own estimate is the mean of its residuals, m_s (n_s ratings);
- the shared prior is S = Σ_s clip(m_s, ±bound) / (N + prior_k) over the N sessions that rated
  it: each session adds at most `bound`, however often it rates, and `prior_k` pseudo-sessions
  at zero hold the prior back until many agree. One session therefore moves S by at most
  2·bound / (1 + prior_k) (the clip, and the one more rater in the denominator), and S never
  leaves ±bound;
- the offset a session decides with is its own mean shrunk toward the prior of the others:
  (n_s·m_s + own_k·S_others) / (n_s + own_k); a session that never rated decides with S.

`mode` switches the parts off for the regret comparison (`lab.regret`): "personal" (the
above), "shared" (everyone decides with S), "none" (ratings teach nothing). The book holds no
I/O: the app persists its lessons (`app/lessons.py`) and replays them with `add` on restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Mode = Literal["personal", "shared", "none"]
RATING_MAX = 2.0  # the app's rating scale is 0..2


@dataclass(frozen=True)
class ShrinkConfig:
    """The learner's bounds, in rating units (0..2). Defaults: `lab.regret` measures them."""

    bound: float = 0.5  # the most one session contributes to the shared prior
    prior_k: float = 20.0  # pseudo-sessions at zero in the shared prior
    own_k: float = 2.0  # how many of its own ratings the prior is worth to a session


@dataclass(frozen=True)
class Lesson:
    """One rating, as the book learns from it."""

    session: str
    task: int
    action: int
    residual: float  # rating − the policy's estimate, 0..2 scale


def residual(rating: float, estimate: float, rating_scale: float) -> float:
    """A rating (0..2) less the policy's quality estimate (its own units), on the 0..2 scale,
    clipped to the scale's range: a corrupt estimate cannot make a huge lesson."""
    r = float(np.clip(rating, 0.0, RATING_MAX)) - float(estimate) / max(rating_scale, 1e-12)
    return float(np.clip(r if np.isfinite(r) else 0.0, -RATING_MAX, RATING_MAX))


class PreferenceBook:
    """Per-session sums of residuals and the shared prior's bounded sums, per (task, action)."""

    def __init__(self, n_tasks: int, n_actions: int, config: ShrinkConfig | None = None,
                 mode: Mode = "personal") -> None:
        self.shape = (n_tasks, n_actions)
        self.config, self.mode = config or ShrinkConfig(), mode
        self._sum: dict[str, np.ndarray] = {}  # session -> Σ residuals per (task, action)
        self._n: dict[str, np.ndarray] = {}  # session -> ratings per (task, action)
        self._shared_sum = np.zeros(self.shape)  # Σ_s clip(m_s, ±bound)
        self._raters = np.zeros(self.shape)  # N: sessions that rated each cell

    def _grow(self, task: int, action: int) -> None:
        """Room for (task, action): a book may start empty and learn its policy's shape."""
        shape = (max(self.shape[0], task + 1), max(self.shape[1], action + 1))
        if shape == self.shape:
            return

        def pad(m: np.ndarray) -> np.ndarray:
            return np.pad(m, ((0, shape[0] - m.shape[0]), (0, shape[1] - m.shape[1])))

        self._sum = {s: pad(m) for s, m in self._sum.items()}
        self._n = {s: pad(m) for s, m in self._n.items()}
        self._shared_sum, self._raters, self.shape = pad(self._shared_sum), pad(self._raters), shape

    def _clipped(self, session: str, task: int, action: int) -> float:
        n = self._n[session][task, action]
        if n == 0:
            return 0.0
        b = self.config.bound
        return float(np.clip(self._sum[session][task, action] / n, -b, b))

    def add(self, lesson: Lesson) -> None:
        """Learn from one lesson (a turn teaches once: the caller checks it)."""
        t, a, s = int(lesson.task), int(lesson.action), lesson.session
        if t < 0 or a < 0:
            raise ValueError(f"a lesson needs a task and an action, got {t}, {a}")
        self._grow(t, a)
        if s not in self._sum:
            self._sum[s], self._n[s] = np.zeros(self.shape), np.zeros(self.shape)
        before = self._clipped(s, t, a)
        if self._n[s][t, a] == 0:
            self._raters[t, a] += 1
        self._sum[s][t, a] += float(np.clip(lesson.residual, -RATING_MAX, RATING_MAX))
        self._n[s][t, a] += 1
        self._shared_sum[t, a] += self._clipped(s, t, a) - before

    def lessons(self, session: str) -> int:
        """How many lessons `session` has given."""
        return int(self._n[session].sum()) if session in self._n else 0

    def shared(self, task: int) -> np.ndarray:
        """The shared prior S for every action of `task` (rating units)."""
        if task >= self.shape[0]:
            return np.zeros(self.shape[1])
        return self._shared_sum[task] / (self._raters[task] + self.config.prior_k)

    def own(self, session: str, task: int) -> tuple[np.ndarray, np.ndarray]:
        """(mean residual, ratings) of `session` for every action of `task`."""
        if session not in self._n or task >= self.shape[0]:
            return np.zeros(self.shape[1]), np.zeros(self.shape[1])
        n = self._n[session][task]
        return np.divide(self._sum[session][task], n, out=np.zeros_like(n), where=n > 0), n

    def offsets(self, session: str, task: int) -> np.ndarray:
        """The quality offsets (rating units) `session` decides with for `task`."""
        if self.mode == "none" or task >= self.shape[0]:
            return np.zeros(self.shape[1])
        if self.mode == "shared":
            return self.shared(task)
        mean, n = self.own(session, task)
        mine = np.clip(mean, -self.config.bound, self.config.bound) * (n > 0)  # its share of S
        others = ((self._shared_sum[task] - mine)
                  / (self._raters[task] - (n > 0) + self.config.prior_k))
        k = self.config.own_k
        return (n * mean + k * others) / (n + k)
