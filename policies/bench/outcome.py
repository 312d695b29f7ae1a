"""LCIO-Bench outcome model: what each action shape is expected to cost and score, and the
quantiles of its cost (the guard's admission bound), learned from the training turns' measured
rows, with the dialogue lengths seen (the guard's pacing)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import ClassVar

import numpy as np

from policies.base import Action, ActionSpace
from policies.bench.dataset import BenchTurn
from policies.bench.observation import (
    BENCH_SPACE,
)
from policies.guard import fits, guard_quantile
from policies.profiles import RESOURCES

QUANTILE_GRID = np.round(np.linspace(0.5, 1.0, 51), 2)  # levels whose costs a model keeps


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
    task, location, images used, audio used); `cost_quantiles` the costs at the levels of
    `QUANTILE_GRID` (for the shape alone where the task has under 20 measurements), from which
    the guard reads its admission quantile; `worst` is the largest cost seen. A model saved
    before quantiles were kept bounds by `margin` × the largest cost seen (the old guard).
    """

    quality: dict[str, list[float]]  # key -> [sum, count] at every level
    cost_mean: dict[str, list[float]]  # cost key -> [latency, usd, energy]
    cost_worst: dict[str, list[float]]
    shrink: float = 3.0
    margin: float = 1.25  # the old guard's worst case = margin × largest cost seen
    cost_quantiles: dict[str, list[list[float]]] = field(default_factory=dict)  # key -> [grid, 3]
    lengths: dict[int, int] = field(default_factory=dict)  # dialogue length -> training dialogues
    min_task_samples: ClassVar[int] = 20  # class constant: fewer measurements fall back to the shape's worst

    @classmethod
    def fit(cls, turns: list[BenchTurn], tasks: list[int], space: ActionSpace = BENCH_SPACE,
            shrink: float = 3.0, heard: list[bool] | None = None) -> OutcomeModel:
        """`heard[i]`: an earlier turn of turn i's dialogue carried audio (costs depend on it)."""
        q: dict[str, list[float]] = {}
        costs: dict[str, list[list[float]]] = {}
        heard = heard or [False] * len(turns)
        ends: dict[str, int] = {}
        for t in turns:
            ends[t.dialogue] = max(ends.get(t.dialogue, 0), t.index + 1)
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
        kept = {k: np.asarray(v) for k, v in costs.items()
                if ("#" not in k and "@" not in k) or len(v) >= cls.min_task_samples}
        worst = {k: v.max(0).tolist() for k, v in kept.items()}
        grid = {k: np.quantile(v, QUANTILE_GRID, axis=0, method="higher").tolist() for k, v in kept.items()}
        return cls(q, mean, worst, shrink, cost_quantiles=grid, lengths=dict(Counter(ends.values())))

    def _q(self, task: int, shape: tuple) -> float:
        prior = self.quality.get("*", [0.0, 1.0])
        est = prior[0] / max(prior[1], 1)
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

    def __post_init__(self) -> None:
        self._tables: dict[float, dict[str, list[float]]] = {}  # not a field: never saved

    def _quantile_table(self, level: float) -> dict[str, list[float]]:
        """Each key's cost at `level`, interpolated on `QUANTILE_GRID` (1.0: the largest seen)."""
        if level not in self._tables:
            self._tables[level] = {k: [float(np.interp(level, QUANTILE_GRID, col)) for col in np.asarray(v).T]
                                   for k, v in self.cost_quantiles.items()}
        return self._tables[level]

    def predict(self, task: int, kinds: tuple[str, ...], heard: bool = False,
                space: ActionSpace = BENCH_SPACE, quantile: float | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(quality [n], mean costs [n, 3], guard bound [n, 3]) for every action: the bound is
        the cost at `quantile` (default `policies.guard.guard_quantile()`) of the finest
        population the turn belongs to, or margin × the largest cost seen for a model saved
        without quantiles."""
        shapes = [action_shape(a, kinds) for a in space.actions]
        q = np.array([self._q(task, s) for s in shapes])
        mean = np.array([self._cost(self.cost_mean, s, task, heard) for s in shapes])
        if self.cost_quantiles:
            table = self._quantile_table(guard_quantile(quantile))
            bound = np.array([self._cost(table, s, task, heard) for s in shapes])
        else:
            bound = np.array([self._cost(self.cost_worst, s, task, heard, lowest=True)
                              for s in shapes]) * self.margin
        return q, mean, bound

    def to_dict(self) -> dict:
        return asdict(self)


def affordable(remaining: np.ndarray, worst: np.ndarray) -> np.ndarray:
    """True where the worst case of every resource fits in what is left (`policies.guard`)."""
    return fits(remaining, worst)


# ------------------------------------------------------------------------------ environment
