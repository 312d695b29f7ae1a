"""What the session's decisions saved: what always-cloud and always-local would have spent.

A total alone ("spent $0.0004, waited 31 s") says nothing about the decisions; compared with
the two fixed strategies a person could have used instead, it does. For each turn the
engine keeps the predictor's point estimate (`app.predict.CostPredictor`, made before the
turn ran) for every action; a baseline's action on that turn is the one at its location
that sends every attachment the person sent (that the backend takes). Where the turn took
exactly that action, its measured cost counts instead of the estimate. Summed over the
session's turns, that is what each baseline would have spent, roughly: the estimates are
the same ones the decision card shows, and a baseline's different answers would have made
later turns' histories (and so their costs) a little different, which this ignores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.session import Cost

BASELINES = ("cloud", "local")
METHOD = (
    "**How this is worked out.** For every turn, before it ran, the cost predictor estimated "
    "each possible action's dollars, waiting time and local energy (the figures the decision "
    "card shows as *expected*). *Always-cloud* is, on each turn, the cloud action that sends "
    "every attachment you sent; *always-local* the same on this machine. Where LCIO took that "
    "very action, its measured cost counts; otherwise the estimate. The sums are rough: a "
    "different answer would have changed later turns a little, which this ignores. Turns a "
    "baseline could not have answered (a file its model does not take) are counted apart.")


def baseline_actions(actions: Sequence[Any], possible: Sequence[bool]) -> dict[str, int]:
    """Per baseline location, the action that sends the most attachments among the `possible`
    ones (files that are there, not held back, that the backend takes), before the budget
    guard: a baseline has no budget. A location with none possible is missing."""
    out: dict[str, int] = {}
    for where in BASELINES:
        there = [i for i, a in enumerate(actions) if a.location == where and possible[i]]
        if there:
            out[where] = max(there, key=lambda i: len(actions[i].attachments))
    return out


def alternatives(actions: Sequence[Any], predicted: Sequence[Cost], possible: Sequence[bool]
                 ) -> dict[str, tuple[int, Cost]]:
    """Each baseline's action on this turn and the predictor's estimate for it."""
    return {where: (i, predicted[i]) for where, i in
            baseline_actions(actions, possible).items() if i < len(predicted)}


def turn_columns(alts: dict[str, tuple[int, Cost]], taken: int | None,
                 actual: Cost | None) -> dict[str, float]:
    """One turn's baseline figures as flat numbers (the session's per-turn table, the log):
    `<where>_usd`, `<where>_latency_s`, `<where>_energy_j`, `<where>_measured` (1 when the
    turn took that action and its measured cost counts); nothing for a missing baseline."""
    out: dict[str, float] = {}
    for where, (index, estimate) in alts.items():
        measured = taken == index and actual is not None
        cost = actual if measured and actual is not None else estimate
        out.update({f"{where}_usd": cost.usd, f"{where}_latency_s": cost.latency_s,
                    f"{where}_energy_j": cost.energy_j, f"{where}_measured": float(measured)})
    return out


@dataclass(frozen=True)
class Savings:
    """The session's spending next to each baseline's (`None`: no turn could be compared)."""

    turns: int
    spent: Cost
    baseline: dict[str, Cost | None]
    missing: dict[str, int]  # turns a baseline could not have answered


def session_savings(per_turn: Sequence[dict[str, Any]]) -> Savings:
    """Sums the per-turn figures over a session's turns."""
    spent = Cost()
    totals: dict[str, Cost | None] = dict.fromkeys(BASELINES)
    missing = dict.fromkeys(BASELINES, 0)
    for t in per_turn:
        spent = spent + Cost(usd=float(t.get("cost_usd", 0.0)),
                             latency_s=float(t.get("latency_s", 0.0)),
                             energy_j=float(t.get("energy_j", 0.0)))
        for where in BASELINES:
            if f"{where}_usd" not in t:
                missing[where] += 1
                continue
            cost = Cost(usd=float(t[f"{where}_usd"]), latency_s=float(t[f"{where}_latency_s"]),
                        energy_j=float(t[f"{where}_energy_j"]))
            totals[where] = cost if totals[where] is None else totals[where] + cost  # type: ignore[operator]
    return Savings(len(per_turn), spent, totals, missing)


def _money(x: float) -> str:
    return f"${x:.6f}" if 0 < x < 0.0001 else f"${x:.4f}"


def savings_markdown(per_turn: Sequence[dict[str, Any]]) -> str:
    """The line beside the totals: "always-cloud would have cost about $Y and waited about
    Z s; always-local would have waited about W s and used about E J" ("" before a turn)."""
    s = session_savings(per_turn)
    if not s.turns:
        return ""
    parts = []
    cloud, local = s.baseline["cloud"], s.baseline["local"]
    if cloud is not None:
        parts.append(f"always-cloud would have cost about **{_money(cloud.usd)}** and waited "
                     f"about **{cloud.latency_s:.0f} s**")
    if local is not None:
        parts.append(f"always-local would have waited about **{local.latency_s:.0f} s** and "
                     f"used about **{local.energy_j:.0f} J** (no cloud dollars)")
    notes = [f"{n} turn(s) always-{where} could not have answered"
             for where, n in s.missing.items() if n]
    return ("**What the decisions saved:** LCIO spent " + _money(s.spent.usd)
            + f", waited {s.spent.latency_s:.0f} s and used {s.spent.energy_j:.0f} J; "
            + "; ".join(parts) + (f" ({'; '.join(notes)})" if notes else "") + ".")
