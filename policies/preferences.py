"""What people's ratings teach: per-session preferences on top of a shared prior that moves
with shrinkage, so that one rating, or one person, cannot flip everyone's decisions.

A rating of action a on a turn of task t becomes a `Lesson`: its residual, the rating minus
the policy's own estimate, on the app's 0..2 rating scale, and who gave it: its session and
its rater (the client address the app saw; a lesson without one is its session's own
rater). For every (task, action):

- a session's own estimate is the mean of its residuals, m_s (n_s ratings);
- the shared prior is S = Σ_r clip(m_r, ±bound) / (N + prior_k) over the N raters that rated
  it, m_r being the mean of all the rater's residuals, from however many sessions: each rater
  adds at most `bound`, however often it rates and however many sessions it opens, and
  `prior_k` pseudo-raters at zero hold the prior back until many agree. One rater therefore
  moves S by at most 2·bound / (1 + prior_k) (the clip, and the one more rater in the
  denominator), and S never leaves ±bound. Sessions cost nothing to open; addresses do;
- the offset a session decides with is its own mean shrunk toward the prior of the others:
  (n_s·m_s + own_k·S_others) / (n_s + own_k), S_others leaving out the shares of the
  session's raters where it rated; a session that never rated decides with S.

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

    bound: float = 0.5  # the most one rater (a client address) adds to the shared prior
    prior_k: float = 20.0  # pseudo-raters at zero in the shared prior
    own_k: float = 2.0  # how many of its own ratings the prior is worth to a session


@dataclass(frozen=True)
class Lesson:
    """One rating, as the book learns from it."""

    session: str
    task: int
    action: int
    residual: float  # rating − the policy's estimate, 0..2 scale
    rater: str = ""  # who taught it (the app: a hash of the client address); "": the session

    @property
    def group(self) -> str:
        """The key the shared prior pools this lesson under (never equal across kinds)."""
        return f"rater:{self.rater}" if self.rater else f"session:{self.session}"


def residual(rating: float, estimate: float, rating_scale: float) -> float:
    """A rating (0..2) less the policy's quality estimate (its own units), on the 0..2 scale,
    clipped to the scale's range: a corrupt estimate cannot make a huge lesson."""
    r = float(np.clip(rating, 0.0, RATING_MAX)) - float(estimate) / max(rating_scale, 1e-12)
    return float(np.clip(r if np.isfinite(r) else 0.0, -RATING_MAX, RATING_MAX))


class PreferenceBook:
    """Per-session sums of residuals (its own offsets) and per-rater sums (the shared prior's
    bounded shares), per (task, action)."""

    def __init__(self, n_tasks: int, n_actions: int, config: ShrinkConfig | None = None,
                 mode: Mode = "personal") -> None:
        self.shape = (n_tasks, n_actions)
        self.config, self.mode = config or ShrinkConfig(), mode
        self._sum: dict[str, np.ndarray] = {}  # session -> Σ residuals per (task, action)
        self._n: dict[str, np.ndarray] = {}  # session -> ratings per (task, action)
        self._group_sum: dict[str, np.ndarray] = {}  # rater -> Σ residuals
        self._group_n: dict[str, np.ndarray] = {}  # rater -> ratings
        self._groups_of: dict[str, set[str]] = {}  # session -> the raters it taught as
        self._shared_sum = np.zeros(self.shape)  # Σ_r clip(m_r, ±bound)
        self._raters = np.zeros(self.shape)  # N: raters that rated each cell

    def _grow(self, task: int, action: int) -> None:
        """Room for (task, action): a book may start empty and learn its policy's shape."""
        shape = (max(self.shape[0], task + 1), max(self.shape[1], action + 1))
        if shape == self.shape:
            return

        def pad(m: np.ndarray) -> np.ndarray:
            return np.pad(m, ((0, shape[0] - m.shape[0]), (0, shape[1] - m.shape[1])))

        for sums in (self._sum, self._n, self._group_sum, self._group_n):
            sums.update({key: pad(m) for key, m in sums.items()})
        self._shared_sum, self._raters, self.shape = pad(self._shared_sum), pad(self._raters), shape

    def _share(self, group: str, task: int) -> tuple[np.ndarray, np.ndarray]:
        """A rater's share of the shared sum for `task`'s actions, clip(m_r, ±bound), and
        where it rated (0/1)."""
        n = self._group_n[group][task]
        mean = np.divide(self._group_sum[group][task], n, out=np.zeros_like(n), where=n > 0)
        b = self.config.bound
        return np.clip(mean, -b, b) * (n > 0), (n > 0).astype(float)

    def add(self, lesson: Lesson) -> None:
        """Learn from one lesson (a turn teaches once: the caller checks it)."""
        t, a, s, g = int(lesson.task), int(lesson.action), lesson.session, lesson.group
        if t < 0 or a < 0:
            raise ValueError(f"a lesson needs a task and an action, got {t}, {a}")
        self._grow(t, a)
        r = float(np.clip(lesson.residual, -RATING_MAX, RATING_MAX))
        for sums, counts, key in ((self._sum, self._n, s), (self._group_sum, self._group_n, g)):
            if key not in sums:
                sums[key], counts[key] = np.zeros(self.shape), np.zeros(self.shape)
        before, rated = self._share(g, t)
        self._group_sum[g][t, a] += r
        self._group_n[g][t, a] += 1
        self._shared_sum[t, a] += self._share(g, t)[0][a] - before[a]
        self._raters[t, a] += 1 - rated[a]
        self._sum[s][t, a] += r
        self._n[s][t, a] += 1
        self._groups_of.setdefault(s, set()).add(g)

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
        mine, my_raters = np.zeros(self.shape[1]), np.zeros(self.shape[1])
        for group in self._groups_of.get(session, ()):  # its raters' shares, where it rated
            share, rated = self._share(group, task)
            mine += share * (n > 0)
            my_raters += rated * (n > 0)
        others = ((self._shared_sum[task] - mine)
                  / (self._raters[task] - my_raters + self.config.prior_k))
        k = self.config.own_k
        return (n * mean + k * others) / (n + k)
