"""What a person sets on the page, made safe: budgets within [0, the instance's maximum] and
reward weights within [0, MAX_WEIGHT], with a note for each value that had to change (a page
or an API client can send anything, NaN and text included)."""

from __future__ import annotations

import math
from typing import Any

from policies.base import RewardWeights

MAX_WEIGHT = 10.0  # a reward weight's largest value (the sliders go to 2)


def _number(value: Any) -> float:
    """`value` as a float; NaN for anything that is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def session_budget(asked: tuple[tuple[Any, float, str, str], ...]) -> tuple[list[float], list[str]]:
    """Each asked budget within [0, its maximum], and a note for each one that was changed."""
    limits, notes = [], []
    for value, most, name, unit in asked:
        number = _number(value)
        if not math.isfinite(number):
            limits.append(0.0)
            notes.append(f"The {name} must be a number; it is 0 {unit}.")
        elif number > most:
            limits.append(most)
            notes.append(f"The {name} is at most {most:g} {unit} here; it was set to {most:g}.")
        else:
            limits.append(max(0.0, number))
    return limits, notes


def session_weights(asked: tuple[Any, Any, Any]) -> tuple[RewardWeights, list[str]]:
    """The reward weights within [0, MAX_WEIGHT], and a note for each one that was changed: a
    weight that is not a number takes its default (a silent 0 would steer every decision)."""
    defaults = RewardWeights().as_dict()
    values, notes = {}, []
    for (name, default), value in zip(defaults.items(), asked, strict=True):
        number = _number(value)
        if not math.isfinite(number):
            values[name] = default
            notes.append(f"The {name} weight must be a number; it is {default:.2g} (the default).")
        elif not 0.0 <= number <= MAX_WEIGHT:
            values[name] = min(MAX_WEIGHT, max(0.0, number))
            notes.append(f"The {name} weight is between 0 and {MAX_WEIGHT:g} here; it was set "
                         f"to {values[name]:g}.")
        else:
            values[name] = number
    return RewardWeights(**values), notes
