"""The app with LCIO's RCRL policy (trained briefly on M4A1 here): the observation the app
builds fits the policy, decisions carry estimates, and ratings move the policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.engine import Engine
from app.observe import features_observation
from app.online import OnlineLearner
from app.session import BudgetLedger, Cost, Session
from app.store import SessionStore
from tests.test_app_engine import FakeBackend

M4A1 = Path(__file__).resolve().parents[2] / "shared" / "data" / "m4a1" / "M4A1.json"


@pytest.fixture(scope="module")
def rcrl():
    if not M4A1.exists():
        pytest.skip("M4A1 data is not beside the repository")
    rcrl_mod = pytest.importorskip("policies.rcrl")
    from policies.data import load_dialogues

    policy, _ = rcrl_mod.train_rcrl(load_dialogues(M4A1)[:30], rcrl_mod.RCRLConfig(epochs=2),
                                    progress=False)
    return policy


def _engine(tmp_path: Path, policy) -> Engine:
    backends = {"local": FakeBackend("local", ["ok"]),
                "cloud": FakeBackend("cloud", ["ok"], cost=0.001)}
    return Engine(SessionStore(tmp_path / "log.sqlite"), lambda n: policy, backends.__getitem__,
                  observe=features_observation, price_usd=lambda p, n: 0.0005)


def test_observation_fits_and_history_is_carried(tmp_path: Path, rcrl) -> None:
    from policies.features import HIST, OBS_DIM, TURN

    engine = _engine(tmp_path, rcrl)
    session = Session(policy_name="lcio-rcrl")
    recs = [list(engine.run(session, q))[-1].record
            for q in ("turn on the light", "recommend a film", "what time is it?")]
    for i, rec in enumerate(recs):
        obs = np.asarray(rec.observation)
        assert obs.shape == (OBS_DIM,) and obs[TURN] == i
        assert rec.decision.estimates["quality"] and rec.expected_source == "policy"
    # turn 3's history window holds turn 2's location (last state but one, first entry)
    hist = np.asarray(recs[2].observation)[HIST].reshape(5, 5)
    assert hist[-1][0] == (1.0 if recs[1].location == "cloud" else 0.0)


def test_guard_keeps_rcrl_local_without_dollars(tmp_path: Path, rcrl) -> None:
    engine = _engine(tmp_path, rcrl)
    session = Session(policy_name="lcio-rcrl",
                      ledger=BudgetLedger(limit=Cost(usd=0.0, latency_s=1e5, energy_j=1e7)))
    rec = list(engine.run(session, "Describe the kitchen in detail, please."))[-1].record
    assert rec.location == "local"


def test_ratings_move_the_policy_estimate(tmp_path: Path, rcrl) -> None:
    engine = _engine(tmp_path, rcrl)
    learner = OnlineLearner(engine.store, lambda n: rcrl)
    session = Session(policy_name="lcio-rcrl")
    list(engine.run(session, "write a message to my mom"))
    learner.rate(session, session.turn_ids[-1], 1, None)
    learner.rate(session, session.turn_ids[-1], 1, None)
    up = learner.points[-1]["preference"]
    assert learner.points[0]["preference"] > learner.points[0]["before"]
    learner.rate(session, session.turn_ids[-1], -1, None)
    assert learner.points[-1]["preference"] < up
    assert [r["reward"] for r in engine.store.ratings()] == [2.0, 2.0, 0.0]
