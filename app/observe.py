"""Build the policy's observation from what the app knows.

The shipped policy (`policies.registry.load_app_policy()`) is trained on LCIO-Bench over 16
actions (local or cloud, each with a subset of the slots): for such a space the observation is
`policies.bench_policy.bench_observation` — the task from the shipped policy's classifier over
the bench's 8 tasks (prompt words + attachment kinds), which slots hold an image or audio, the
prompt length, the turn index, the previous action, the remaining budgets and whether the
conversation sent with this call carries earlier audio or images (the bench's did, which made
cloud calls dearer; the app's history is text only, so these stay 0 unless that changes).

For a 9-action M4A1 space the layout is `policies/features.py`. Two of its inputs the app
cannot measure within the 100 ms before the decision card shows:
- association (prompt-image similarity): no offline package ships a vision-language
  embedding, and perception takes seconds, so a present slot gets the M4A1 mean
  association (0.21) and an empty slot 0;
- the task: `classify_task` on the prompt (a keyword classifier, cheap and offline).
"""

from __future__ import annotations

from functools import lru_cache

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


@lru_cache(maxsize=1)
def _bench_policy() -> object:
    """The shipped bench policy, for its task classifier (loaded once per process)."""
    from policies.bench_policy import BenchRCRLPolicy
    from policies.registry import APP_POLICY_PATH

    return BenchRCRLPolicy.load(APP_POLICY_PATH)


def bench_features(session: Session, record: object, space: ActionSpace) -> np.ndarray:
    """The bench policy's observation (`policies.bench_policy`, 26 numbers)."""
    kinds = tuple(a.kind for a in record.slots)[: space.slots]
    previous = None
    if session.past_actions and session.past_actions[-1] < space.n:
        previous = space.actions[session.past_actions[-1]]
    remaining, limits = session_budgets(session)
    earlier = tuple(a.kind for m in session.history if m.role == "user" for a in m.attachments)
    return _bench_policy().observe(record.prompt, kinds, session.turn_index, previous,
                                   remaining, limits, earlier)


def features_observation(session: Session, record: object, space: ActionSpace) -> np.ndarray:
    """The trained policies' observation for this turn of this session."""
    if space.local_subsets:
        return bench_features(session, record, space)
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
