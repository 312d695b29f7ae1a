"""The one signature every policy has, learned or rule-based: `decide(observation, mask)`.

Actions are indices into an `ActionSpace`: 0 is "answer locally with every usable attachment
turned into text", and the rest are "cloud with attachment subset S" (see `ActionSpace`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from itertools import combinations
from typing import Literal

import numpy as np

Location = Literal["local", "cloud"]


@dataclass(frozen=True)
class Action:
    location: Location
    attachments: tuple[int, ...]  # indices of the turn's attachment slots that are used


@dataclass(frozen=True)
class ActionSpace:
    """Local or cloud, each with a subset of up to `slots` attachment slots.

    With `local_subsets=False` (the paper's M4A1 protocol) local is a single action that
    uses no attachments: 1 + 2**slots actions. With `local_subsets=True` (the app, whose
    local path reads attachments through perception) local also picks a subset.
    """

    slots: int = 3
    local_subsets: bool = False

    @property
    def actions(self) -> list[Action]:
        subsets = [c for k in range(self.slots + 1) for c in combinations(range(self.slots), k)]
        local = [Action("local", s) for s in subsets] if self.local_subsets else [Action("local", ())]
        return local + [Action("cloud", s) for s in subsets]

    @property
    def n(self) -> int:
        return len(self.actions)

    def mask_for(self, present: list[bool]) -> np.ndarray:
        """Actions that use only attachments that exist in this turn."""
        return np.array(
            [all(present[i] for i in a.attachments) for a in self.actions], dtype=bool
        )


@dataclass
class Decision:
    """A chosen action and why: what the UI's decision card shows."""

    action: int
    location: Location
    attachments: tuple[int, ...]
    probability: float
    # Per-action estimates the policy weighed, e.g. {"quality": [...], "latency_s": [...]}.
    estimates: dict[str, list[float]] = field(default_factory=dict)
    # Lagrange multipliers per budget at decision time (empty for rule-based policies).
    multipliers: dict[str, float] = field(default_factory=dict)
    reason: str = ""


class Policy(ABC):
    """Chooses an action for one turn. `mask[i]` False means action i must not be taken."""

    name: str = "policy"
    uses_guard: bool = True  # the caller masks unaffordable actions before `decide`

    @abstractmethod
    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision: ...

    def reset(self) -> None:  # noqa: B027 - optional hook; most policies keep no state
        """Forget per-dialogue state (called at the start of every dialogue)."""
