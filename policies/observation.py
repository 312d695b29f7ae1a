"""Observations built from a `TurnContext`: the two layouts, and which space uses which.

- 16 actions (local or cloud, each with a subset of the slots: LCIO-Bench, the shipped
  policy): `policies.bench_policy.bench_observation`, with the task from a classifier over the
  bench's 8 tasks (the policy's own, or the shipped policy's for policies that have none).
- 9 actions (M4A1): `policies.m4a1.features`. Two of its inputs the app cannot measure before the
  decision card shows: association (no offline vision-language embedding; a present slot gets
  the M4A1 mean, 0.209) and the task (`classify_task`, a keyword classifier).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from policies.base import ActionSpace, TurnContext

M4A1_MEAN_ASSOCIATION = 0.209


@lru_cache(maxsize=1)
def shipped_classifier():
    """The shipped bench policy's task classifier (loaded once per process)."""
    from policies.bench_policy import BenchRCRLPolicy
    from policies.registry import APP_POLICY_PATH

    return BenchRCRLPolicy.load(APP_POLICY_PATH).classifier


def bench_context_observation(context: TurnContext, space: ActionSpace, classifier=None) -> np.ndarray:
    """The bench layout (28 numbers + the prompt's 512 hashed word counts) for `context`;
    `classifier` defaults to the shipped one."""
    from policies.bench_policy import bench_observation

    classifier = classifier or shipped_classifier()
    kinds = tuple(context.kinds)[: space.slots]
    previous = None
    if context.past_actions and context.past_actions[-1] < space.n:
        previous = space.actions[context.past_actions[-1]]
    task = classifier.predict(context.prompt, kinds)
    return bench_observation(task, kinds, context.prompt, context.turn_index, previous,
                             context.remaining, context.limits, tuple(context.earlier_kinds))


def m4a1_observation(context: TurnContext, space: ActionSpace) -> np.ndarray:
    """The M4A1 layout (38 numbers, `policies.m4a1.features`) for `context`."""
    from policies.m4a1.features import SLOTS, build_observation, classify_task, step_state

    actions = space.actions
    states: list[list[float]] = []
    previous = None
    for index, prompt in zip(context.past_actions, context.past_prompts, strict=False):
        states.append(step_state(previous, classify_task(prompt)))
        previous = actions[index] if index < len(actions) else None
    states.append(step_state(previous, classify_task(context.prompt)))
    present = [i < len(context.kinds) for i in range(SLOTS)]
    association = [M4A1_MEAN_ASSOCIATION if p else 0.0 for p in present]
    return build_observation(states, present, association, context.turn_index,
                             context.remaining, context.limits)


def observation_for(space: ActionSpace, context: TurnContext) -> np.ndarray:
    """The layout that belongs to `space` (see the module docstring)."""
    if space.local_subsets:
        return bench_context_observation(context, space)
    return m4a1_observation(context, space)
