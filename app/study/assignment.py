"""Who gets which condition: random, balanced (least-filled) or counterbalanced orders.

Pure functions of (seed, how many came before, counts so far), so an assignment can be
recomputed and checked; `StudyStore.create_participant` runs them inside one SQLite write
transaction and stores the result, so a participant keeps their condition (or order)
across reloads and server restarts, and two people arriving at once never share a slot.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from app.study.config import StudyConfig


def williams_square(n: int) -> list[list[int]]:
    """Condition orders for a within-subject design (Williams' Latin square).

    Every condition takes every position equally often; for even n each condition also
    directly follows every other exactly once (first-order carry-over balanced). Odd n
    needs the square and its mirror image (2n orders) for the same property.
    """
    if n < 1:
        raise ValueError("need at least one condition")
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(c + i) % n for c in first] for i in range(n)]
    if n % 2 == 1 and n > 1:
        rows += [list(reversed(r)) for r in rows]
    return rows


def choose_order(config: StudyConfig, seq: int, participant: str,
                 counts: dict[str, int]) -> list[str]:
    """The condition order for the `seq`-th participant (0-based).

    - random: an independent seeded draw per participant id;
    - balanced: the condition with the fewest participants so far, ties broken by a
      seeded RNG (so arrival order cannot be gamed and a replay gives the same result);
    - counterbalanced: the next row of the Williams square, cycling, so after every
      full cycle each order has been used equally often.
    Between-subject designs return a one-element order.
    """
    names = [c.name for c in config.conditions]
    if config.assignment == "random":
        rng = random.Random(f"{config.seed}:random:{participant}")
        return [rng.choice(names)]
    if config.assignment == "balanced":
        least = min(counts.get(n, 0) for n in names)
        tied = [n for n in names if counts.get(n, 0) == least]
        rng = random.Random(f"{config.seed}:balanced:{seq}")
        return [rng.choice(tied)]
    rows = williams_square(len(names))
    return [names[i] for i in rows[seq % len(rows)]]


def condition_at(config: StudyConfig, order: Sequence[str], turn: int) -> tuple[int, str]:
    """(task index, condition) of a participant's `turn`-th rated turn (0-based)."""
    task = turn // config.turns_per_task
    if len(order) == 1:
        return task, order[0]
    return task, order[(task // config.switch_every) % len(order)]
