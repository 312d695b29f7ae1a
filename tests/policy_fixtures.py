"""Small synthetic dialogues so policy tests run without the M4A1 file."""

from __future__ import annotations

import numpy as np

from policies.base import ActionSpace
from policies.m4a1.data import Dialogue, Turn


def synthetic_dialogues(n: int = 30, seed: int = 0, present_all: bool = True) -> list[Dialogue]:
    rng = np.random.default_rng(seed)
    space = ActionSpace()
    out = []
    for i in range(n):
        turns = []
        for _ in range(int(rng.integers(2, 6))):
            present = (True,) * 3 if present_all else tuple(bool(x) for x in rng.integers(0, 2, 3))
            allowed = np.flatnonzero(space.mask_for(list(present)))
            a = int(rng.choice(allowed))
            turns.append(Turn(task=int(rng.integers(4)), question="q",
                              association=tuple(float(x) for x in rng.uniform(0.1, 0.3, 3)),
                              present=present, logged_action=a,
                              quality=float(rng.uniform(0, 2) + (0.5 if a > 0 else 0))))
        out.append(Dialogue(i, tuple(turns)))
    return out
