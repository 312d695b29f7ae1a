"""LCIO's look-ahead plans the turn after next at turns 0-1 (`LookaheadConfig.two_turns_until`):
its value is the expectimax written the obvious way, the budget it assumes is the one left,
and turning it off gives the one-turn planner back."""

import dataclasses

import numpy as np
import pytest

from lab.m4a1.training import train_planner
from policies.m4a1.features import build_observation, step_state
from policies.m4a1.planner import LookaheadConfig, LookaheadPlanner
from tests.policy_fixtures import synthetic_dialogues

BUDGETS = {"latency_s": 30.0, "usd": 0.05, "energy_j": float("inf")}


@pytest.fixture(scope="module")
def trained() -> tuple[LookaheadPlanner, list]:
    train = synthetic_dialogues(40, seed=7)
    policy = train_planner(train, LookaheadConfig())
    return policy, train


def _one_turn(policy: LookaheadPlanner) -> LookaheadPlanner:
    return LookaheadPlanner(policy.quality, policy.costs, policy.weights,
                      dataclasses.replace(policy.config, two_turns_until=-1), None, policy.stats)


def _brute_future(policy: LookaheadPlanner, states: list, turn: int, left: np.ndarray, depth: int) -> float:
    """max over affordable actions of r̂ + P(next) · E_task[the same one turn on], `depth` turns
    deep, each k-NN row asked afresh (`QualityModel.predict_actions`)."""
    from policies.m4a1.features import history_window
    w = policy.weights
    base = w.association * np.asarray(policy.stats.future_assoc) - policy._cost_term
    q = policy.quality.predict_actions(history_window(states))
    best = -np.inf
    for a, act in enumerate(policy.space.actions):
        cost = policy._raw_costs[a]
        if np.any(cost > left + 1e-12):
            continue
        value = w.quality * q[a] + base[a]
        cont = policy._cont[min(turn, len(policy._cont) - 1)]
        if depth > 1 and cont > 0:
            value += cont * sum(policy._trans[int(states[-1][4])][k] * _brute_future(
                policy, [*states, step_state(act, k)], turn + 1, left - cost, depth - 1)
                for k in range(len(policy._trans)))
        best = max(best, value)
    return best if np.isfinite(best) else 0.0


@pytest.mark.parametrize("scale", [1.0, 0.3])
def test_turn_zero_look_ahead_is_the_obvious_expectimax(trained, scale):
    """At turn 0 the look-ahead of each first action equals P(turn 1) · E_task[max over what
    still fits of r̂ + P(turn 2) · E_task[max r̂]], every k-NN row asked afresh."""
    policy, train = trained
    budgets = {**BUDGETS, "latency_s": 30.0 * scale, "usd": 0.05 * scale}
    turn0 = train[3].turns[0]
    states = [step_state(None, turn0.task)]
    obs = build_observation(states, turn0.present, turn0.association, 0, budgets, budgets)
    future = policy.estimates(obs)["future"]
    remaining = np.array([budgets[r] for r in policy.config.budgets])
    for a, act in enumerate(policy.space.actions):
        left = remaining - policy._raw_costs[a]
        expected = policy._cont[0] * sum(
            policy._trans[turn0.task][k] * _brute_future(policy, [*states, step_state(act, k)], 1, left, 2)
            for k in range(len(policy._trans)))
        assert future[a] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_later_turns_and_the_switch_plan_one_turn_ahead(trained):
    """From turn 2 on, and everywhere with `two_turns_until=-1`, the look-ahead is one turn deep;
    at turn 0 the second turn changes the look-ahead."""
    policy, train = trained
    one = _one_turn(policy)
    d = next(d for d in train if len(d.turns) >= 4)
    states, prev = [], None
    for t, turn in enumerate(d.turns[:3]):
        states.append(step_state(prev, turn.task))
        obs = build_observation(states, turn.present, turn.association, t, BUDGETS, BUDGETS)
        two_f, one_f = policy.estimates(obs)["future"], one.estimates(obs)["future"]
        if t >= 2:
            np.testing.assert_array_equal(two_f, one_f)
        else:
            assert not np.allclose(two_f, one_f)
        prev = policy.space.actions[turn.logged_action]


def test_second_turn_rows_are_warm_for_turns_zero_and_one(trained):
    """Every head of turns 0-1 (4 + 144) has its second-turn rows ready: no k-NN query then."""
    policy, _ = trained
    assert len(policy._second) == 4 + 4 * 36
    assert all(q.shape == (9, 4, 9, 4, 9) for q in policy._second.values())



def test_crossval_compares_planners_on_the_same_folds_and_judges():
    """`crossval --planner` plays each depth on the same folds and judges as the tie-rule
    comparison: its one-turn row is the tie rule's shared-ties row, cell for cell."""
    from lab.m4a1.crossval import FOLDS, JUDGES, crossval_seed, planners

    dialogues = synthetic_dialogues(40, seed=9)
    ties = crossval_seed(dialogues, 1)
    depth = crossval_seed(dialogues, 1, planners)
    assert len(depth) == 4 and all(len(v) == FOLDS * JUDGES for v in depth.values())
    assert depth["two turns ahead until turn -1"] == ties["shared ties"]
    assert depth["two turns ahead until turn 1"] != depth["two turns ahead until turn -1"]
