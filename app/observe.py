"""Build the policy's observation from what the app knows (via `policies.features`).

The layout is the one the policies were trained on (see `policies/features.py`). Two inputs
the app cannot measure within the 100 ms before the decision card shows:
- association (prompt-image similarity): no offline package ships a vision-language
  embedding, and perception takes seconds, so a present slot gets the M4A1 mean
  association (0.21) and an empty slot 0;
- the task: `classify_task` on the prompt (a keyword classifier, cheap and offline).
"""

from __future__ import annotations

import numpy as np

from app.session import Session
from policies.base import ActionSpace

M4A1_MEAN_ASSOCIATION = 0.209


def session_budgets(session: Session) -> tuple[dict[str, float], dict[str, float]]:
    """(remaining, limits) keyed like `policies.profiles.RESOURCES`."""
    lim, left = session.ledger.limit, session.ledger.remaining
    limits = {"latency_s": lim.latency_s, "usd": lim.usd, "energy_j": lim.energy_j}
    remaining = {"latency_s": left.latency_s, "usd": left.usd, "energy_j": left.energy_j}
    return remaining, limits


def features_observation(session: Session, record: "object", space: ActionSpace) -> np.ndarray:
    """The trained policies' observation for this turn of this session."""
    from policies.features import SLOTS, build_observation, classify_task, step_state

    actions = space.actions
    states: list[list[float]] = []
    previous = None
    for index, prompt in zip(session.past_actions, session.past_prompts, strict=False):
        states.append(step_state(previous, classify_task(prompt)))
        previous = actions[index] if index < len(actions) else None
    states.append(step_state(previous, classify_task(record.prompt)))
    n_slots = len(record.slots)
    present = [i < n_slots for i in range(SLOTS)]
    association = [M4A1_MEAN_ASSOCIATION if p else 0.0 for p in present]
    remaining, limits = session_budgets(session)
    return build_observation(states, present, association, session.turn_index, remaining, limits)
