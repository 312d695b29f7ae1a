"""LCIO's fast look-ahead k-NN (`policies.m4a1.lookahead`) and its memo caches change no
number and no decision: bit-for-bit the quality model's own predictions, and on the held-out
turns of a paper split the same actions and scores as the uncached, obvious computation."""

from pathlib import Path

import numpy as np
import pytest

from lab.m4a1.protocol import PaperEvaluator, PaperSimulator, paper_split
from lab.m4a1.training import train_planner
from policies.guard import affordable_mask
from policies.m4a1.data import load_dialogues
from policies.m4a1.features import REMAIN, SPAN, STEP_DIM, TURN
from policies.m4a1.lookahead import LookaheadKNN
from policies.m4a1.planner import LookaheadConfig
from policies.m4a1.simulator import QualityModel
from policies.profiles import PAPER_BUDGETS, RESOURCES
from tests.policy_fixtures import synthetic_dialogues

M4A1 = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "m4a1" / "M4A1.json"


def _random_head(rng: np.random.Generator, next_state: np.ndarray, n_real: int = 0) -> np.ndarray:
    """The newest 4 per-turn states of a reachable window (`n_real` of them real, random if 0;
    padded at the front)."""
    steps = next_state.reshape(-1, STEP_DIM)
    n_real = n_real or int(rng.integers(1, SPAN))
    first = [-1.0, 0.0, 0.0, 0.0, float(rng.integers(4))]
    real = [first] + [list(steps[int(rng.integers(len(steps)))]) for _ in range(n_real - 1)]
    pad = [[-1.0] * STEP_DIM] * (SPAN - 1 - n_real)
    return np.asarray(pad + real, dtype=np.float64).reshape(-1)


@pytest.mark.parametrize("ties", [True, False])
def test_fast_lookahead_is_the_models_own_prediction(ties):
    """Shared ties: the same bits as the reference (full rows, `simulator.tie_mean`) and as
    the model's `predict`; order-broken: the reference's stable-sort neighbours."""
    policy = train_planner(synthetic_dialogues(40, seed=4, present_all=False),
                           LookaheadConfig(knn_ties=ties))
    knn = policy._knn
    assert knn.exact
    rng = np.random.default_rng(11)
    for _ in range(40):
        head = _random_head(rng, policy._next_state)
        fast, slow = knn.quality(head), knn.reference(head)
        if ties:
            np.testing.assert_array_equal(fast, slow)
            queries = np.hstack([np.broadcast_to(head, (len(knn.tails), len(head))), knn.tails])
            np.testing.assert_array_equal(fast.ravel(), policy.quality.predict(queries))
        else:
            np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)


def test_non_integer_points_fall_back_to_the_reference():
    """The integer shortcuts only hold for integer features: otherwise the slow definition."""
    d = synthetic_dialogues(10, seed=2)
    base = QualityModel.fit(d, ties=True)
    shifted = QualityModel(base.points + 0.5, base.quality, base.space, ties=True)
    policy = train_planner(d, LookaheadConfig())
    knn = LookaheadKNN(shifted, policy._next_state)
    assert not knn.exact
    head = _random_head(np.random.default_rng(0), policy._next_state)
    np.testing.assert_array_equal(knn.quality(head), knn.reference(head))


def test_current_quality_from_the_previous_look_ahead_is_a_fresh_query():
    """A window's quality row taken from the previous turn's memoised look-ahead equals the
    model's own query of that window, bit for bit (turns 3 and 4, beyond the warmed caches)."""
    policy = train_planner(synthetic_dialogues(40, seed=5), LookaheadConfig())
    rng = np.random.default_rng(5)
    steps = policy._next_state.reshape(-1, STEP_DIM)
    served = 0
    for _ in range(6):
        head = _random_head(rng, policy._next_state, n_real=SPAN - 1)
        policy._future_value(np.concatenate([np.zeros(STEP_DIM), head]), 0, 0, np.array([1e3, 1.0]))
        for st in steps[rng.choice(len(steps), 5, replace=False)]:
            window = np.concatenate([head, st]).astype(np.float32)
            assert policy._q_cache.get(window.tobytes()) is None
            np.testing.assert_array_equal(policy._current_quality(window),
                                          policy.quality.predict_actions(window))
            served += 1
    assert served == 30


@pytest.mark.skipif(not M4A1.is_file(), reason="../shared/data/m4a1/M4A1.json is not beside the repo")
@pytest.mark.parametrize("scale", [1.0, 0.35])
def test_held_out_decisions_equal_the_uncached_computation(scale):
    """Seed 1 of the paper's protocol: on every held-out turn the fast, memoised decision has
    the same scores, to the bit, and so the same action as every k-NN query asked afresh."""
    train, test, _ = paper_split(load_dialogues(M4A1), 1)
    policy = train_planner(train, LookaheadConfig(seed=1))
    budgets = {**PAPER_BUDGETS, "latency_s": 30.0 * scale, "usd": 0.05 * scale}
    seen: list[int] = []

    class Checked:
        uses_guard, space = True, policy.space

        def reset(self) -> None:
            pass

        def decide(self, obs, mask):
            dec = policy.decide(obs, mask)
            ref = policy.estimates(obs, reference=True)
            np.testing.assert_array_equal(np.asarray(dec.estimates["score"]), ref["score"])
            remaining = dict(zip(RESOURCES, (float(x) for x in obs[REMAIN]), strict=True))
            allowed = mask & affordable_mask(remaining, policy.action_costs)
            if allowed.any():
                assert dec.action == int(np.argmax(np.where(allowed, ref["score"], -np.inf)))
            seen.append(int(obs[TURN]))
            return dec

    ev = PaperEvaluator(test, PaperSimulator(train))
    for d in test:
        ev.play(Checked(), d, budgets)
    assert len(seen) == sum(len(d.turns) for d in test) and max(seen) == 4
