"""The one budget guard of the app and the bench: what is allowed to start, and what must fit.

Two rules, on arrays of costs (rows: actions; columns: the budgeted resources):

- **Hard** (`fits`): a cost fits when, for every resource, it is at most what remains (+ `TOL`).
  M4A1 knows its costs exactly, so its mask is `affordable_mask` (hard rule on exact costs).
- **Admission** (`admit`): an action whose cost is an estimate may start when a high quantile
  of its predicted cost (`guard_quantile`, `LCIO_GUARD_QUANTILE`, default 0.8) fits what
  remains after a *pacing reserve* (`pacing_reserve`: the dialogue's expected remaining turns
  answered by its cheapest action, the last of them at its quantile), and its *floor* (the
  part of its cost that cannot be stopped once started) fits what remains. Pacing only steers:
  when no action fits with the reserve, those that fit without it stay allowed, so pacing alone
  never refuses a turn.

The quantile decides what may start; it is not the promise. The promise is kept at run time by
the caller: the app reserves the running turn's bound, caps a cloud answer's tokens at the
dollars left and stops an answer at the deadline where the waiting-time or energy budget runs
out (`app.guard`, `app.engine`); the bench cuts a turn whose measured cost would pass what is
left where the budget runs out (`policies.bench.env`). If nothing is admitted the caller
refuses the turn rather than answer.
"""

from __future__ import annotations

import math
import os

import numpy as np

TOL = 1e-12
QUANTILE_ENV = "LCIO_GUARD_QUANTILE"
DEFAULT_QUANTILE = 0.8  # LCIO-Bench v1: the highest tried with <= 5 % refused turns at 0.5x (docs/budget.md)


def guard_quantile(value: float | str | None = None) -> float:
    """The admission quantile: `value`, else `LCIO_GUARD_QUANTILE`, else `DEFAULT_QUANTILE`; in (0, 1]."""
    raw = value if value is not None else os.environ.get(QUANTILE_ENV, "") or DEFAULT_QUANTILE
    q = float(raw)
    if not 0.0 < q <= 1.0 or math.isnan(q):
        raise ValueError(f"{QUANTILE_ENV} must be in (0, 1], got {raw!r}")
    return q


def within(need: float, have: float) -> bool:
    """The one fit rule: `need` fits in `have`, up to TOL (sums of floats may overshoot by that)."""
    return need <= have + TOL


def fits(remaining: np.ndarray, worst: np.ndarray) -> np.ndarray:
    """[n] bool: row i of `worst` ([n, resources]) fits in `remaining` ([resources]), by `within`."""
    return np.all(np.asarray(worst) <= np.asarray(remaining, dtype=np.float64)[None, :] + TOL, axis=1)


def affordable_mask(remaining: dict[str, float], action_costs: dict[str, np.ndarray],
                    worst_case_factor: float = 1.0) -> np.ndarray:
    """True where every resource's worst-case cost fits in what remains of its budget.

    `worst_case_factor` > 1 covers cost models that are estimates (the app's real calls).
    """
    n = len(next(iter(action_costs.values())))
    bounded = [r for r in action_costs if r in remaining and np.isfinite(remaining[r])]
    if not bounded:
        return np.ones(n, dtype=bool)
    worst = np.stack([np.asarray(action_costs[r], dtype=np.float64) * worst_case_factor for r in bounded], 1)
    return fits(np.array([remaining[r] for r in bounded]), worst)


def turns_left(turn: int, lengths: dict[int, int] | None, default_length: float = 0.0) -> float:
    """Expected turns after turn `turn` (0-based) of a dialogue: E[T − turn − 1 | T > turn]
    over the dialogue lengths seen (`lengths`: length -> count); with none seen that long (or
    none at all), `default_length` − turn − 1, at least 0."""
    longer = {n: c for n, c in (lengths or {}).items() if int(n) > turn}
    if longer:
        return sum((int(n) - turn - 1) * c for n, c in longer.items()) / sum(longer.values())
    return max(0.0, default_length - turn - 1)


def cheapest(expected: np.ndarray, remaining: np.ndarray, allowed: np.ndarray | None = None) -> int:
    """Index of the action whose expected cost takes the smallest share of the tightest budget
    it touches (the one a dialogue can repeat longest); -1 if none is allowed."""
    expected = np.asarray(expected, dtype=np.float64)
    rows = np.flatnonzero(allowed) if allowed is not None else np.arange(len(expected))
    if not len(rows):
        return -1
    room = np.maximum(np.asarray(remaining, dtype=np.float64), TOL)
    share = (expected[rows] / room[None, :]).max(axis=1)
    return int(rows[int(np.argmin(share))])


def pacing_reserve(turns: float, expected: np.ndarray, bound: np.ndarray | None = None) -> np.ndarray:
    """What to keep for the rest of the dialogue: its `turns` answered by the cheapest action,
    each at its `expected` cost but the last at its admission `bound` (so that the last one
    can still be admitted); without `bound`, all at `expected`."""
    turns = max(0.0, float(turns))
    expected = np.asarray(expected, dtype=np.float64)
    if bound is None:
        return turns * expected
    return max(0.0, turns - 1.0) * expected + min(1.0, turns) * np.asarray(bound, dtype=np.float64)


def admit(remaining: np.ndarray, bound: np.ndarray, floor: np.ndarray | None = None,
          reserve: np.ndarray | None = None, allowed: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """([n] bool, paced): actions allowed to start. `bound` [n, resources] is each action's
    admission cost (the quantile), `floor` [n, resources] what it costs however early it is
    stopped (must fit outright), `reserve` [resources] the pacing reserve, `allowed` [n] what the
    turn allows at all (files present). `paced` says whether the reserve was kept."""
    remaining = np.asarray(remaining, dtype=np.float64)
    bound = np.asarray(bound, dtype=np.float64)
    ok = np.ones(len(bound), dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool).copy()
    ok &= fits(remaining, bound)
    if floor is not None:
        ok &= fits(remaining, floor)
    if reserve is None or not np.any(np.asarray(reserve) > 0):
        return ok, False
    paced = ok & fits(remaining - np.asarray(reserve, dtype=np.float64), bound)
    return (paced, True) if paced.any() else (ok, False)
