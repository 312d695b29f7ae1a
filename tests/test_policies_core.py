import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.m4a1.oracle import best_sequence
from lab.m4a1.rollout import run_episode
from lab.m4a1.training import train_planner
from policies.base import ActionSpace
from policies.lagrange import Lagrange, LagrangeTable
from policies.m4a1.data import Dialogue, Turn
from policies.m4a1.env import EnvConfig, OffloadEnv
from policies.m4a1.features import SPAN, STEP_DIM, AppObservationBuilder, classify_task, step_state
from policies.m4a1.planner import LookaheadConfig, LookaheadPlanner
from policies.m4a1.simulator import RewardWeights, normalised_association, paper_reward
from policies.profiles import cost_table
from tests.policy_fixtures import synthetic_dialogues


def test_multiplier_rises_while_exceeded_and_falls_when_not():
    lag = Lagrange(0.0, lr=0.1)
    seen = [float(lag.update(cost=12.0, limit=10.0)) for _ in range(5)]
    assert all(b > a for a, b in zip(seen, seen[1:], strict=False))
    falling = [float(lag.update(cost=8.0, limit=10.0)) for _ in range(3)]
    assert falling[0] < seen[-1] and falling[1] < falling[0]
    for _ in range(100):
        lag.update(cost=0.0, limit=10.0)
    assert float(lag.value) == 0.0  # projected: never negative


def test_lagrange_table_moves_only_visited_cells():
    t = LagrangeTable(("usd",), (1.0,))
    t.dual_step([(0, 1, 2, +0.5), (0, 1, 2, +1.5)])
    assert t.values[0, 1, 2] == pytest.approx(0.5 * 1.0)
    assert t.values.sum() == pytest.approx(t.values[0, 1, 2])
    t.dual_step([(0, 1, 2, -5.0)])
    assert t.values[0, 1, 2] == 0.0


def _brute_force(dlg, qfn, costs, norm, budgets, space):
    best = -np.inf
    for seq in itertools.product(range(space.n), repeat=len(dlg.turns)):
        spent = {r: 0.0 for r in budgets}
        states, total, ok = [step_state(None, dlg.turns[0].task)], 0.0, True
        for t, a in enumerate(seq):
            for r in budgets:
                spent[r] += costs[r][a]
            if any(spent[r] > budgets[r] + 1e-12 for r in budgets):
                ok = False
                break
            window = [[-1.0] * STEP_DIM] * (SPAN - len(states)) + states[-SPAN:]
            code = [float(a > 0)] + [float(a > 0 and i in space.actions[a].attachments) for i in range(3)]
            q = qfn(np.array([sum(window, []) + code]))[0]
            na = normalised_association(np.array(dlg.turns[t].association), space)
            total += paper_reward(np.array([q]), na[[a]], {k: v[[a]] for k, v in norm.items()},
                                  RewardWeights())[0]
            if t + 1 < len(dlg.turns):
                states.append(step_state(space.actions[a], dlg.turns[t + 1].task))
        if ok and total > best:
            best = total
    return best


@pytest.mark.parametrize("budgets", [{"latency_s": 12.0, "usd": 0.02}, {"latency_s": 30.0, "usd": 0.05}])
def test_oracle_matches_brute_force_on_hand_made_dialogues(budgets):
    space = ActionSpace()
    ct = cost_table()
    costs, norm = ct.per_action(), ct.normalised()

    def qfn(x: np.ndarray) -> np.ndarray:  # quality rewards sending view 2 after a cloud turn
        return 0.5 + x[:, 25] * 0.8 + x[:, 28] * 0.3 + x[:, 20] * x[:, 25] * 0.6

    dlg = Dialogue(0, tuple(Turn(task, "q", (0.2, 0.1, 0.3), (True,) * 3, 0, 1.0)
                            for task in (0, 2, 3)))
    seq, value = best_sequence(dlg, qfn, costs, norm, budgets)
    assert value == pytest.approx(_brute_force(dlg, qfn, costs, norm, budgets, space))
    assert sum(costs["latency_s"][a] for a in seq) <= budgets["latency_s"]
    assert sum(costs["usd"][a] for a in seq) <= budgets["usd"]


@pytest.fixture(scope="module")
def trained() -> tuple[LookaheadPlanner, list]:
    d = synthetic_dialogues(40, seed=1, present_all=False)
    policy = train_planner(d, LookaheadConfig())
    return policy, d


@settings(max_examples=25, deadline=None)
@given(lat=st.floats(0.06, 60.0), usd=st.floats(1e-7, 0.1), seed=st.integers(0, 10_000))
def test_planner_never_overspends(trained, lat, usd, seed):
    policy, dialogues = trained
    env = OffloadEnv(dialogues, policy.quality, EnvConfig(guard=False))  # policy guards itself
    i = seed % len(dialogues)
    res = run_episode(env, policy, i, {"latency_s": lat, "usd": usd})
    assert res.latency_s <= lat + 1e-9 and res.usd <= usd + 1e-12
    assert not any(v > 0 for v in res.overspend.values())
    present = [t.present for t in dialogues[i].turns]
    for a, p in zip(res.actions, present, strict=False):
        assert all(p[s] for s in env.space.actions[a].attachments)


def test_decision_carries_probability_and_estimates_but_no_multipliers(trained):
    policy, _ = trained
    b = AppObservationBuilder({"latency_s": 30.0, "usd": 0.05})
    obs = b.observe("Please recommend a dish", [True, True, True], [0.2, 0.25, 0.1])
    dec = policy.decide(obs, np.ones(9, dtype=bool))
    assert 0 < dec.probability <= 1
    assert len(dec.estimates["quality"]) == 9
    assert dec.multipliers == {} and "price" not in dec.estimates, "the planner prices no budget"
    b.record(policy.space.actions[dec.action], {"latency_s": 5.0, "usd": 0.01})
    obs2 = b.observe("and now?", [True, False, False], [0.1, 0.0, 0.0], task=2)
    assert obs2[31] == 1 and obs2[35] == pytest.approx(25.0) and obs2[36] == pytest.approx(0.04)


def test_update_from_rating_moves_estimate_toward_rating(trained, tmp_path):
    policy, _ = trained
    policy.save(tmp_path / "p.json")
    p = LookaheadPlanner.load(tmp_path / "p.json")
    before = p.offsets[1, 8]
    after = p.update_from_rating(task=1, action=8, rating=2.0, predicted=1.0, lr=0.5)
    assert after == pytest.approx(before + 0.5)
    after2 = p.update_from_rating(task=1, action=8, rating=0.0, predicted=1.5, lr=0.5)
    assert after2 < after
    assert p.offsets[0, 8] == 0.0


def test_task_classifier_keywords():
    assert classify_task("Please turn on all the lights in the kitchen.") == 0
    assert classify_task("Please send a message to my home") == 1
    assert classify_task("Where did I put my dishes?") == 2
    assert classify_task("Please recommend two dishes") == 3


def _random_observation(rng: np.random.Generator, policy: LookaheadPlanner) -> np.ndarray:
    """A random reachable observation: random tasks, actions, turn, association and budget."""
    b = AppObservationBuilder({"latency_s": float(rng.uniform(0.05, 60)),
                               "usd": float(rng.uniform(1e-6, 0.1))})
    obs = b.observe("q", [True] * 3, rng.uniform(0, 1, 3).tolist(), task=int(rng.integers(4)))
    for _ in range(int(rng.integers(0, 5))):
        b.record(policy.space.actions[int(rng.integers(policy.space.n))],
                 {"latency_s": float(rng.uniform(0, 8)), "usd": float(rng.uniform(0, 0.015))})
        obs = b.observe("q", [True] * 3, rng.uniform(0, 1, 3).tolist(), task=int(rng.integers(4)))
    return obs


def test_fast_lookahead_equals_slow_reference(trained):
    """The pruned, memoised k-NN look-ahead must give the reference's values and decisions."""
    policy, _ = trained
    assert policy._exact_d2 and len(policy._look_cache) > 0  # caches were filled ahead
    rng = np.random.default_rng(7)
    turns = set()
    for _ in range(150):
        obs = _random_observation(rng, policy)
        turns.add(int(obs[31]))
        fast, slow = policy.estimates(obs), policy.estimates(obs, reference=True)
        np.testing.assert_allclose(fast["future"], slow["future"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(fast["score"], slow["score"], rtol=1e-12, atol=1e-12)
        assert int(np.argmax(fast["score"])) == int(np.argmax(slow["score"]))
    assert turns >= {0, 1, 2, 3, 4}


def test_memoised_quality_equals_fresh_knn(trained):
    """Cached k-NN rows (filled ahead and on the fly) equal a fresh query of the same model."""
    policy, _ = trained
    rng = np.random.default_rng(3)
    for _ in range(50):
        obs = _random_observation(rng, policy)
        policy.estimates(obs)
    for key, q in list(policy._q_cache.items())[::41]:
        np.testing.assert_array_equal(q, policy.quality.predict_actions(np.frombuffer(key, np.float32)))
    for key, q in list(policy._look_cache.items())[::83]:
        np.testing.assert_allclose(q, policy._lookahead_quality_reference(np.frombuffer(key, np.float64)),
                                   rtol=1e-12, atol=1e-12)
