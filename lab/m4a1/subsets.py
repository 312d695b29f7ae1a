"""Random subsets of a training split, for fitting on part of the data (learning curves, screens)."""

from __future__ import annotations

from typing import TypeVar

import numpy as np

T = TypeVar("T")


def subsample(train: list[T], fraction: float, seed: int, index: int) -> list[T]:
    """`index`-th random subset of `fraction` of the training dialogues (the whole split at 1),
    in the split's order; the same (seed, fraction, index) always gives the same subset."""
    if fraction >= 1.0:
        return list(train)
    n = max(1, round(fraction * len(train)))
    rng = np.random.default_rng([seed, round(fraction * 1000), index])
    return [train[i] for i in sorted(rng.choice(len(train), n, replace=False))]
