"""The settings' reward weights change the objective at decision time: in the shipped bench
policy (`decide_with`) and through the app's engine. Cost up → more local, quality up → more
cloud, and the defaults keep the trained objective (what the evaluations measured)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.engine import Engine
from app.observe import policy_observation
from app.session import Session
from app.store import SessionStore
from policies.base import Preferences, RewardWeights
from policies.bench.observation import BenchWeights
from policies.bench.steer import coefficients
from tests.test_app_engine import FakeBackend

BIG = {"latency_s": 1e4, "usd": 10.0, "energy_j": 1e6}  # budgets that never bind


@pytest.fixture(scope="module")
def shipped():
    from policies.artifacts import APP_POLICY_PATH, load_app_policy

    if not APP_POLICY_PATH.exists():
        pytest.skip("assets/policy/rcrl-bench.json is not built")
    return load_app_policy()


@pytest.fixture(scope="module")
def bench_turns(shipped):
    from policies.artifacts import BENCH_PATH
    from policies.bench.dataset import load_bench

    if not BENCH_PATH.exists():
        pytest.skip("LCIO-Bench v1 is not in assets/bench")
    return [(shipped.observe_turn(t.prompt, t.kinds, t.index, None, BIG, BIG),
             shipped.space.mask_for(list(t.present))) for t in load_bench(BENCH_PATH).turns]


def _cloud_share(policy, turns, weights: RewardWeights) -> float:
    prefs = Preferences(weights)
    return float(np.mean([policy.decide_with(o, m, prefs).location == "cloud" for o, m in turns]))


def test_coefficients_keep_the_trained_objective_at_the_defaults() -> None:
    trained, units = BenchWeights(), np.array([5.0, 5e-4, 60.0])
    assert coefficients(RewardWeights(), trained, units) == pytest.approx((1.0, 0.02, 20.0))
    assert coefficients(RewardWeights(0.0, 0.0, 0.0), trained, units) == (0.0, 0.0, 0.0)
    per_usd = [coefficients(RewardWeights(cost=c), trained, units)[2] for c in np.linspace(0, 2, 9)]
    assert all(b >= a for a, b in zip(per_usd, per_usd[1:], strict=False))
    # one weight point above the default: the dearest call costs one more quality point
    assert coefficients(RewardWeights(cost=4 / 3), trained, units)[2] * units[1] == \
        pytest.approx(1.0 + 20.0 * units[1])


def test_default_weights_decide_as_the_trained_policy(shipped, bench_turns) -> None:
    for o, m in bench_turns[:80]:
        assert shipped.decide_with(o, m, Preferences()).action == shipped.decide(o, m).action


def test_decisions_shift_with_the_weights_on_the_bench(shipped, bench_turns) -> None:
    default = _cloud_share(shipped, bench_turns, RewardWeights())
    frugal = _cloud_share(shipped, bench_turns, RewardWeights(cost=2.0))
    impatient = _cloud_share(shipped, bench_turns, RewardWeights(latency=2.0))
    # on LCIO-Bench v2 (the stronger stand-in wins most turns' quality): 0.85 -> 0.60 and 0.18
    assert frugal < default - 0.2, (frugal, default)
    assert impatient < default - 0.2, (impatient, default)
    costly = RewardWeights(cost=1.0)  # where cloud is not already the rule, quality buys it back
    assert _cloud_share(shipped, bench_turns, RewardWeights(quality=2.0, cost=1.0)) > \
        _cloud_share(shipped, bench_turns, costly) + 0.05
    # with quality worth nothing, only time and money count: local nearly always (on v2 the
    # cloud stays on ~10 % of turns, where its predicted answer is quicker than the local one)
    assert _cloud_share(shipped, bench_turns, RewardWeights(quality=0.0)) < 0.15


def test_no_turn_moves_to_the_cloud_when_only_the_cost_weight_rises(shipped, bench_turns) -> None:
    ladder = [Preferences(RewardWeights(cost=c)) for c in np.linspace(0.0, 2.0, 7)]
    for o, m in bench_turns[::3]:
        where = [shipped.decide_with(o, m, p).location for p in ladder]
        assert not any(a == "local" and b == "cloud" for a, b in zip(where, where[1:], strict=False))


def _engine(tmp_path: Path, policy) -> Engine:
    backends = {"local": FakeBackend("local", ["ok"], energy=1.0),
                "cloud": FakeBackend("cloud", ["ok"], cost=0.0001)}
    return Engine(SessionStore(tmp_path / "log.sqlite"), lambda n: policy, backends.__getitem__,
                  observe=lambda s, r, space: policy_observation(policy, s, r),
                  price_usd=lambda *tokens: 0.0005)


@pytest.mark.parametrize("prompt", ["write a message to my mom", "Explain quantum entanglement in detail"])
def test_the_engine_decides_with_the_sessions_weights(tmp_path: Path, shipped, prompt: str) -> None:
    def where(weights: RewardWeights) -> str:
        # a fresh engine each time: the fake local backend's speed, once measured, would
        # change the guard's worst cases for the next session
        engine = _engine(tmp_path / f"{weights.quality}-{weights.latency}-{weights.cost}", shipped)
        session = Session(policy_name="lcio-lookahead", weights=weights)
        record = list(engine.run(session, prompt))[-1].record
        assert record.status == "answered" and record.preferences.weights == weights
        assert not record.masked, "the guard allowed every action: the weights decided"
        (row,) = engine.store.rows()
        assert row["location"] == record.location and json.loads(row["weights"]) == weights.as_dict()
        decided = row["decision"] if isinstance(row["decision"], dict) else json.loads(row["decision"])
        assert decided["decide_ms"] > 0 and decided["decide_cpu_ms"] >= 0  # timed for the loadtest
        assert len(decided["decide_switches"]) == 2 and min(decided["decide_switches"]) >= 0
        return record.location

    assert where(RewardWeights()) == "cloud"
    assert where(RewardWeights(latency=2.0)) == "local", "a high latency weight answers locally"
    # at a cost weight of 2 the quality weight decides: valued low, local; valued high, cloud
    assert where(RewardWeights(quality=0.5, cost=2.0)) == "local"
    assert where(RewardWeights(quality=2.0, cost=2.0)) == "cloud", "quality buys the cloud back"
