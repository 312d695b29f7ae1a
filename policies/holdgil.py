"""Array helpers for the decision path that never let the GIL go.

In the app a decision runs while other threads stream and generate answers. Some numpy
calls release the GIL even on a 16-element array (`np.argmax`, `np.searchsorted`, 2-D fancy
indexing), as do casts and loops over 500+ elements; each release can hand the GIL to another
thread, and winning it back costs the decision up to a switch interval (5 ms).
`tests/test_decide_keeps_the_gil.py` checks that a whole decision keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def argmax(values: np.ndarray | Sequence[float]) -> int:
    """Index of the first largest value, as `np.argmax` (inputs hold no NaN)."""
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return max(range(len(items)), key=items.__getitem__)
