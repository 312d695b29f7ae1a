"""Lagrange multipliers updated by dual ascent, one per budget (OmniSafe's `Lagrange`, tabular).

For a constraint E[cost] <= limit the dual step is  λ <- max(0, λ + lr · (cost − limit)):
the multiplier rises while the budget is exceeded and falls back towards 0 when it is not.
`LagrangeTable` keeps one multiplier per (resource, turn bucket, remaining-budget bucket), so
the price of a resource depends on how much of it is left: that is what lets one trained
policy serve budgets it never saw.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Lagrange:
    """A single multiplier (or an array of them) with projected dual ascent."""

    value: np.ndarray | float = 0.0
    lr: float = 0.05
    upper: float | None = None

    def update(self, cost: np.ndarray | float, limit: np.ndarray | float) -> np.ndarray | float:
        self.value = np.maximum(0.0, np.asarray(self.value) + self.lr * (np.asarray(cost) - limit))
        if self.upper is not None:
            self.value = np.minimum(self.value, self.upper)
        return self.value


BUDGET_EDGES: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0)


@dataclass
class LagrangeTable:
    """Multipliers indexed by resource, turn bucket and remaining budget in units of the
    resource's most expensive call."""

    resources: tuple[str, ...]
    units: tuple[float, ...]  # the most expensive action's cost per resource
    turn_buckets: int = 5
    edges: tuple[float, ...] = BUDGET_EDGES
    lr: float = 0.5
    upper: float = 10.0
    # None (the default) is replaced by zeros in __post_init__, so the field is always an array.
    values: np.ndarray = field(default=None)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.values is None:
            self.values = np.zeros((len(self.resources), self.turn_buckets, len(self.edges) + 1))
        self.values = np.asarray(self.values, dtype=np.float64)

    def cell(self, turn: int, remaining: np.ndarray) -> tuple[int, list[int]]:
        """(turn bucket, budget bucket per resource) of a decision at `turn` with `remaining`.

        Found with `bisect` in plain Python: `np.searchsorted` lets the GIL go, which costs a
        decision in the busy app up to a switch interval (`policies/holdgil.py`)."""
        left = np.asarray(remaining, dtype=np.float64).tolist()
        return (min(int(turn), self.turn_buckets - 1),
                [bisect.bisect_right(self.edges, r / u) for r, u in zip(left, self.units, strict=True)])

    def lookup(self, turn: int, remaining: np.ndarray) -> np.ndarray:
        """λ per resource for a decision at `turn` with `remaining` budget (resource units)."""
        t, b = self.cell(turn, remaining)
        return np.array([self.values[k, t, bk] for k, bk in enumerate(b)])

    def dual_step(self, samples: list[tuple[int, int, int, float]], lr: float | None = None) -> None:
        """One dual-ascent step. Each sample is (resource, turn bucket, budget bucket,
        (cost spent from that decision on − budget left at it) / unit): positive = overspent."""
        lr = self.lr if lr is None else lr
        sums, counts = np.zeros_like(self.values), np.zeros_like(self.values)
        for r, t, b, g in samples:
            sums[r, t, b] += g
            counts[r, t, b] += 1
        seen = counts > 0
        self.values[seen] = np.clip(self.values[seen] + lr * sums[seen] / counts[seen], 0.0, self.upper)

    def to_dict(self) -> dict:
        return {"resources": list(self.resources), "units": list(self.units),
                "turn_buckets": self.turn_buckets, "edges": list(self.edges), "lr": self.lr,
                "upper": self.upper, "values": self.values.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> LagrangeTable:
        return cls(tuple(d["resources"]), tuple(d["units"]), d["turn_buckets"], tuple(d["edges"]),
                   d["lr"], d["upper"], np.asarray(d["values"]))
