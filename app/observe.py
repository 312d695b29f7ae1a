"""What the app knows about a turn, handed to the policy that decides it.

`turn_context` gathers it from the session and the turn (prompt, attachment kinds, earlier
actions and prompts, budgets); the policy's own `observe(context)` (the contract in
`policies.base`) turns it into its observation: its family's layout (`policies.bench.observation`,
`policies.m4a1.features`), with the task classifier the app handed it (`app.runtime.app_kit`).
"""

from __future__ import annotations

import numpy as np

from app.session import Session
from policies.base import Policy, TurnContext


def session_budgets(session: Session) -> tuple[dict[str, float], dict[str, float]]:
    """(remaining, limits) keyed like `policies.profiles.RESOURCES`."""
    return session.ledger.remaining.as_dict(), session.ledger.limit.as_dict()


def turn_context(session: Session, record: object) -> TurnContext:
    """This turn of this session as the policy contract's `TurnContext`."""
    remaining, limits = session_budgets(session)
    earlier = tuple(a.kind for m in session.history if m.role == "user" for a in m.attachments)
    return TurnContext(prompt=record.prompt, kinds=tuple(a.kind for a in record.slots),
                       turn_index=session.turn_index, past_actions=tuple(session.past_actions),
                       past_prompts=tuple(session.past_prompts), remaining=remaining,
                       limits=limits, earlier_kinds=earlier)


def policy_observation(policy: Policy, session: Session, record: object) -> np.ndarray:
    """The deciding policy's observation of this turn."""
    return policy.observe(turn_context(session, record))
