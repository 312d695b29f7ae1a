"""What the engine decides with when it is given nothing better: the session's weights
alone (no learner) and a plain observation (no `policies.features`, or it failed)."""

from __future__ import annotations

import numpy as np

from app.session import Session
from app.turn import TurnRecord
from policies.base import ActionSpace, Policy, Preferences


def weights_only(session: Session, policy: Policy, observation: np.ndarray) -> Preferences:
    """The session's reward weights and nothing learned (an engine without a learner)."""
    return Preferences(session.weights)


def simple_observation(session: Session, record: TurnRecord, space: ActionSpace) -> np.ndarray:
    """A fallback observation when `policies.features` is unavailable: which slots hold
    an attachment, audio present, previous action (normalised), turn index, budgets left."""
    present = [float(i < len(record.slots)) for i in range(space.slots)]
    prev = session.past_actions[-1] / max(1, space.n - 1) if session.past_actions else 0.0
    left = session.ledger.remaining_fractions()
    return np.array(present + [float(bool(record.always)), prev, min(session.turn_index, 20) / 20,
                               left["usd"], left["latency_s"], left["energy_j"]], dtype=np.float32)
