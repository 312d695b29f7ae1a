"""Per-person state: the dialogue, the budgets as they burn, and the chosen settings.

One `Session` lives in each browser tab's `gr.State` (or each `gradio_client` session), so
two people never share a history or a budget. Budgets are costs with limits (OmniSafe
style), not reward shaping: the ledger only counts and says what is left.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from backends.types import Completion, Message
from policies.base import RewardWeights  # the session's weights are the contract's
from policies.guard import within
from policies.profiles import RESOURCES  # the one order of the three resources


@dataclass(frozen=True, kw_only=True)
class Cost:
    """What an answer spent (or may spend) in the three budgeted resources, in the one order of
    `RESOURCES` (seconds, dollars, joules); named, never positional, so no caller can mix them."""

    latency_s: float = 0.0
    usd: float = 0.0
    energy_j: float = 0.0

    def __add__(self, other: Cost) -> Cost:
        return Cost.from_array(self.as_array() + other.as_array())

    def as_dict(self) -> dict[str, float]:
        """Keyed and ordered like `RESOURCES`: what policies read (`TurnContext` budgets)."""
        return {r: getattr(self, r) for r in RESOURCES}

    def as_array(self) -> np.ndarray:
        return np.array([getattr(self, r) for r in RESOURCES], dtype=np.float64)

    @classmethod
    def from_array(cls, values: Sequence[float] | np.ndarray) -> Cost:
        return cls(**{r: float(x) for r, x in zip(RESOURCES, values, strict=True)})


# Budgets of a new session, and the page's settings before anyone changes them.
DEFAULT_LIMIT = Cost(latency_s=300.0, usd=0.05, energy_j=3000.0)
# What people read (the budget card, which budget a refusal names, the log's fractions), in the
# order they have always read it: dollars first. Presentation only; vectors are in `RESOURCES`.
RESOURCE_LABELS = {"usd": "Cloud dollars", "latency_s": "Waiting time (s)",
                   "energy_j": "Local energy (J)"}


@dataclass
class BudgetLedger:
    """Limits and what has been spent against them for one session."""

    limit: Cost = DEFAULT_LIMIT
    spent: Cost = field(default_factory=Cost)
    # Worst cases of the session's turns still running: two turns of one session at once
    # (two API calls) cannot both spend what is left.
    reserved: Cost = field(default_factory=Cost)

    def charge(self, completion: Completion) -> Cost:
        """Book a finished answer; cancelled answers cost what they used.

        Dollars are the cloud budget: a local answer's electricity price (its `cost_usd`)
        is not charged to it; its energy is charged to the energy budget instead.
        """
        usd = 0.0 if completion.backend == "local" else completion.cost_usd
        cost = Cost(latency_s=completion.latency_s, usd=usd, energy_j=completion.energy_j)
        self.spent = self.spent + cost
        return cost

    def charge_cost(self, cost: Cost) -> None:
        """Book a partial cost (e.g. a cloud call that failed after some seconds)."""
        self.spent = self.spent + cost

    def overspent(self) -> list[str]:
        """The budgets spent beyond their limits (empty while the guard's promise holds)."""
        return [r for r in RESOURCE_LABELS if not within(getattr(self.spent, r), getattr(self.limit, r))]

    @property
    def remaining(self) -> Cost:
        """What a new turn may still spend: the limits less what is spent and reserved."""
        return Cost.from_array(np.maximum(0.0, self.limit.as_array() - self.spent.as_array()
                                          - self.reserved.as_array()))

    def reserve(self, cost: Cost) -> None:
        """Hold a running turn's worst case until `release`."""
        self.reserved = self.reserved + cost

    def release(self, cost: Cost) -> None:
        self.reserved = Cost.from_array(np.maximum(0.0, self.reserved.as_array() - cost.as_array()))

    def remaining_fractions(self) -> dict[str, float]:
        """Share of each budget left, in [0, 1]; a zero limit counts as nothing left."""
        out: dict[str, float] = {}
        for r in RESOURCE_LABELS:
            lim = getattr(self.limit, r)
            out[r] = 0.0 if lim <= 0 else max(0.0, min(1.0, getattr(self.remaining, r) / lim))
        return out

    def can_afford(self, cost: Cost) -> tuple[bool, str]:
        """Whether `cost` fits in every budget; if not, which one it overruns (for the card)."""
        left = self.remaining
        for r in RESOURCE_LABELS:
            need, have = getattr(cost, r), getattr(left, r)
            if not within(need, have):
                return False, f"{RESOURCE_LABELS[r]}: needs up to {_fmt(r, need)}, {_fmt(r, have)} left"
        return True, ""


def _fmt(resource: str, value: float) -> str:
    if resource == "usd":
        return f"${value:.4f}"
    if resource == "latency_s":
        return f"{value:.1f} s"
    return f"{value:.0f} J"


@dataclass
class Session:
    """One person's conversation: history for the backends, ledger, settings, turn ids."""

    policy_name: str = "lcio-lookahead"
    ledger: BudgetLedger = field(default_factory=BudgetLedger)
    weights: RewardWeights = field(default_factory=RewardWeights)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: float = field(default_factory=time.time)
    history: list[Message] = field(default_factory=list)
    # Per finished turn: its store id, location, attachments used, for observations.
    turn_ids: list[int] = field(default_factory=list)
    past_actions: list[int] = field(default_factory=list)
    past_prompts: list[str] = field(default_factory=list)
    past_attachments: list[tuple[int, ...]] = field(default_factory=list)
    # Per-turn figures for the chart.
    per_turn: list[dict[str, float | str]] = field(default_factory=list)
    # Chatbot message index -> store turn id, so a thumbs click finds its turn.
    message_turn: dict[int, int] = field(default_factory=dict)
    # The client address the page's handlers last saw (app/client_address.py; "" unknown):
    # what this session teaches the shared prior is pooled with that address's other sessions.
    client: str = ""
    # Later study mode: who and under which condition (kept in every log row).
    participant: str | None = None
    condition: str | None = None
    # Index the next logged turn gets: rejected turns are logged too, and take one, so every
    # row of a session has its own index (observations still count `turn_index`).
    next_log_index: int = 0

    @property
    def turn_index(self) -> int:
        """Turns that reached a model (what the policy observes), not counting rejected ones."""
        return len(self.turn_ids)

    def take_log_index(self) -> int:
        """A fresh index for a turn's log row, unique in this session."""
        index = max(self.next_log_index, self.turn_index)
        self.next_log_index = index + 1
        return index

    def fresh(self) -> Session:
        """A new session with the same settings and limits and nothing spent."""
        return Session(policy_name=self.policy_name,
                       ledger=BudgetLedger(limit=self.ledger.limit),
                       weights=self.weights, participant=self.participant,
                       condition=self.condition)


def finite(x: float) -> float:
    """JSON/SQLite-safe float."""
    return x if math.isfinite(x) else 0.0
