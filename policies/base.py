"""The contract between a policy and whoever runs it (the app, an env, an evaluator).

Every policy, learned or rule-based, is a `Policy`:
- `space`: the `ActionSpace` it decides over (actions are indices into `space.actions`);
- `observe(context)`: its observation, built from a `TurnContext` (what the app knows about a
  turn before deciding); by default the `observer` its builder handed it (its family's
  layout, with the caller's task classifier: `policies.roster`);
- `decide(observation, mask) -> Decision`: `mask[i]` False means action i must not be taken;
- `decide_with(observation, mask, preferences) -> Decision`: the same decision for one person
  (`Preferences`: the session's reward weights and what their ratings taught). The default
  ignores the preferences and calls `decide`, so a policy that has no use for them needs
  nothing more; one that steers by them (LCIO's planner) overrides it and sets `steerable`;
- `uses_guard`: True if it relies on the caller to mask actions whose worst case does not fit
  the remaining budget (the shared guard), False if it must be played unguarded (the paper's
  baselines, which may overspend);
- `reset()`: forget per-dialogue state.
A policy that learns from people's ratings is also a `RatingLearner`: it says which task an
observation carries and its own quality estimates; what ratings taught (per session, on top of a
shared prior, `policies.preferences`) reaches it as `Preferences.quality_offsets`.

Adding a baseline: subclass `Policy`, implement `decide`, and add one `register(...)` line to
`policies.roster`: every evaluator's table, the app's menu and the study's conditions read it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
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


@dataclass(frozen=True)
class RewardWeights:
    """How much a person values answer quality against waiting and paying (the settings'
    sliders). The defaults are the paper's (1, 1/3, 1/3); a steerable policy reproduces its
    trained objective at the defaults and departs from it as the weights do."""

    quality: float = 1.0
    latency: float = 1 / 3
    cost: float = 1 / 3

    def as_dict(self) -> dict[str, float]:
        return {"quality": self.quality, "latency": self.latency, "cost": self.cost}


@dataclass(frozen=True)
class Preferences:
    """One person's say in a decision: reward weights, and per-action quality offsets (in the
    policy's quality units) that their ratings and everyone's shrunk prior taught."""

    weights: RewardWeights = field(default_factory=RewardWeights)
    quality_offsets: np.ndarray | None = None  # [space.n], added to the quality estimates


@dataclass(frozen=True)
class TurnContext:
    """What the app knows about a turn when it must decide (nothing measured after it)."""

    prompt: str
    kinds: tuple[str, ...]  # kind of each attachment slot in use: "image" or "audio"
    turn_index: int
    past_actions: tuple[int, ...] = ()  # earlier turns' actions (indices into the policy's space)
    past_prompts: tuple[str, ...] = ()
    remaining: dict[str, float] = field(default_factory=dict)  # keyed like `costs.RESOURCES`
    limits: dict[str, float] = field(default_factory=dict)
    earlier_kinds: tuple[str, ...] = ()  # kinds of the files earlier turns carried


Observer = Callable[[TurnContext], np.ndarray]


class Policy(ABC):
    """Chooses an action for one turn (the contract in the module docstring)."""

    name: str = "policy"
    space: ActionSpace = ActionSpace()
    uses_guard: bool = True
    steerable: bool = False  # True if `decide_with` honours the weights and offsets
    # Its family's observation of a turn, handed in by whoever builds it (`policies.roster`).
    observer: Observer | None = None

    @abstractmethod
    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision: ...

    def decide_with(self, observation: np.ndarray, mask: np.ndarray,
                    preferences: Preferences | None = None) -> Decision:
        """The decision for one person (the app calls this); by default `decide`, ignoring
        `preferences`: a policy that does not steer is still a valid policy."""
        return self.decide(observation, mask)

    def observe(self, context: TurnContext) -> np.ndarray:
        """This policy's observation of a turn: by default its family's layout, through the
        observer the roster handed it (`policies.roster.build`), so the contract loads nothing."""
        if self.observer is None:
            raise TypeError(f"{type(self).__name__} has no observer: build it through "
                            "policies.roster.build, or give it one")
        return self.observer(context)

    def reset(self) -> None:  # noqa: B027 - optional hook; most policies keep no state
        """Forget per-dialogue state (called at the start of every dialogue)."""


class RatingLearner(ABC):
    """Optional: a policy that improves from people's ratings (the app's online learning).

    The app keeps what ratings taught (`policies.preferences.PreferenceBook`, persisted in the
    store) and hands it back through `decide_with`; the policy only says what a rating is
    compared with. `rating_scale` maps the app's 0..2 rating onto the policy's quality units."""

    rating_scale: float = 1.0

    @abstractmethod
    def task_of(self, observation: np.ndarray) -> int:
        """The task the observation carries (the key of the rating's update)."""

    @abstractmethod
    def estimates(self, observation: np.ndarray) -> dict[str, np.ndarray]:
        """Per-action estimates before any person's preferences; "quality" at least (what a
        rating is compared with)."""

