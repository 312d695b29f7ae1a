"""The app with LCIO's planner policies: the shipped one (trained on LCIO-Bench, 16 actions)
and an M4A1 one trained briefly here. The observation the app builds fits the policy,
decisions carry estimates and respect the guard, and ratings move the policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.engine import Engine
from app.observe import policy_observation
from app.online import OnlineLearner
from app.session import BudgetLedger, Cost, Session
from app.store import SessionStore
from tests.test_app_engine import FakeBackend

M4A1 = Path(__file__).resolve().parents[2] / "shared" / "data" / "m4a1" / "M4A1.json"


@pytest.fixture(scope="module")
def planner():
    if not M4A1.exists():
        pytest.skip("M4A1 data is not beside the repository")
    from lab.m4a1.training import train_planner
    from policies.m4a1.data import load_dialogues
    from policies.m4a1.planner import LookaheadConfig

    policy = train_planner(load_dialogues(M4A1)[:30], LookaheadConfig())
    return policy


def _engine(tmp_path: Path, policy) -> Engine:
    backends = {"local": FakeBackend("local", ["ok"]),
                "cloud": FakeBackend("cloud", ["ok"], cost=0.001)}
    return Engine(SessionStore(tmp_path / "log.sqlite"), lambda n: policy, backends.__getitem__,
                  observe=lambda s, r, space: policy_observation(policy, s, r),
                  price_usd=lambda *tokens: 0.0005)


def test_observation_fits_and_history_is_carried(tmp_path: Path, planner) -> None:
    from policies.m4a1.features import HIST, OBS_DIM, TURN

    engine = _engine(tmp_path, planner)
    session = Session(policy_name="lcio-lookahead")
    recs = [list(engine.run(session, q))[-1].record
            for q in ("turn on the light", "recommend a film", "what time is it?")]
    for i, rec in enumerate(recs):
        obs = np.asarray(rec.observation)
        assert obs.shape == (OBS_DIM,) and obs[TURN] == i
        assert rec.decision.estimates["quality"] and rec.expected_source == "predicted"
    # turn 3's history window holds turn 2's location (last state but one, first entry)
    hist = np.asarray(recs[2].observation)[HIST].reshape(5, 5)
    assert hist[-1][0] == (1.0 if recs[1].location == "cloud" else 0.0)


def test_guard_keeps_planner_local_without_dollars(tmp_path: Path, planner) -> None:
    engine = _engine(tmp_path, planner)
    session = Session(policy_name="lcio-lookahead",
                      ledger=BudgetLedger(limit=Cost(usd=0.0, latency_s=1e5, energy_j=1e7)))
    rec = list(engine.run(session, "Describe the kitchen in detail, please."))[-1].record
    assert rec.location == "local"


def test_ratings_move_the_policy_estimate(tmp_path: Path, planner) -> None:
    engine = _engine(tmp_path, planner)
    learner = OnlineLearner(engine.store, lambda n: planner)
    session = Session(policy_name="lcio-lookahead")
    for thumbs in (1, 1, -1):  # a turn teaches once: each rating rates its own turn
        list(engine.run(session, "write a message to my mom"))
        learner.rate(session, session.turn_ids[-1], thumbs, None)
    points = learner.points_of(session.id)
    assert points[0]["preference"] > points[0]["before"]
    assert points[-1]["preference"] < points[-1]["before"], "a thumbs down lowers it"
    assert [r["reward"] for r in engine.store.ratings()] == [2.0, 2.0, 0.0]


# --- the shipped policy: trained on LCIO-Bench with the app's own features ----------------
@pytest.fixture
def shipped():
    from policies.artifacts import APP_POLICY_PATH, load_app_policy

    if not APP_POLICY_PATH.exists():
        pytest.skip("assets/policy/rcrl-bench.json is not built")
    return load_app_policy()  # a fresh object: ratings here do not leak into other tests


def test_app_decides_with_the_bench_policy_over_16_actions(shipped) -> None:
    from app.runtime import APP_SPACE, policy_factories
    from policies.bench_policy import BenchPlanner

    assert isinstance(shipped, BenchPlanner) and shipped.space.n == 16 and shipped.space.local_subsets
    factories = policy_factories()
    assert isinstance(factories["lcio-lookahead"](), BenchPlanner)
    assert all(factories[n]().space == APP_SPACE for n in ("local-only", "cloud-only", "random"))


def test_app_observation_fits_the_shipped_policy(tmp_path: Path, shipped, media_files) -> None:
    from lab.bench.scenarios import TASKS
    from policies.bench_policy import HEARD, OBS_DIM, PREV_LOC, TASK, TURN, kinds_from_obs

    engine = _engine(tmp_path, shipped)
    session = Session(policy_name="lcio-lookahead")
    rec = list(engine.run(session, "Answer my voice message.",
                          [str(media_files["img"]), str(media_files["wav"])]))[-1].record
    obs = np.asarray(rec.observation)
    assert obs.shape == (OBS_DIM,) and obs[TURN] == 0
    assert kinds_from_obs(obs) == ("image", "audio")  # audio took slot 1, as in the bench
    assert [a.kind for a in rec.slots] == ["image", "audio"]
    assert TASKS[int(np.argmax(obs[TASK]))] == "speech"  # the shipped classifier's call
    assert 0 <= rec.decision.action < 16 and rec.decision.estimates["quality"]
    assert all(i < 2 for i in rec.action.attachments)  # only slots that hold a file
    rec2 = list(engine.run(session, "What is the capital of France?"))[-1].record
    obs2 = np.asarray(rec2.observation)
    assert obs2[TURN] == 1 and kinds_from_obs(obs2) == ()
    assert TASKS[int(np.argmax(obs2[TASK]))] == "factual"
    assert obs2[PREV_LOC] == (1.0 if rec.location == "cloud" else 0.0)
    # the app's history carries earlier turns as text only, so no earlier audio rides along
    # with this call (in the bench's conversations it did, and cost dollars)
    assert obs2[HEARD] == 0.0 and all(not m.attachments for m in session.history)


def test_guard_keeps_the_shipped_policy_local_without_dollars(tmp_path: Path, shipped) -> None:
    engine = _engine(tmp_path, shipped)
    session = Session(policy_name="lcio-lookahead",
                      ledger=BudgetLedger(limit=Cost(usd=0.0, latency_s=1e5, energy_j=1e7)))
    rec = list(engine.run(session, "Recommend a film for tonight."))[-1].record
    assert rec.location == "local"


def test_ratings_move_the_shipped_policy(tmp_path: Path, shipped) -> None:
    engine = _engine(tmp_path, shipped)
    learner = OnlineLearner(engine.store, lambda n: shipped)
    session = Session(policy_name="lcio-lookahead")
    for thumbs in (1, -1):  # a turn teaches once: each rating rates its own turn
        list(engine.run(session, "Rewrite this politely: send me the file now."))
        learner.rate(session, session.turn_ids[-1], thumbs, None)
    points = learner.points_of(session.id)
    assert points[0]["preference"] > points[0]["before"]
    assert points[-1]["preference"] < points[-1]["before"], "a thumbs down lowers it"


@pytest.fixture
def media_files(tmp_path: Path) -> dict[str, Path]:
    import wave

    from PIL import Image

    img = tmp_path / "photo.png"
    Image.new("RGB", (8, 8), "blue").save(img)
    wav = tmp_path / "question.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000), w.writeframes(b"\0\0" * 1600)
    return {"img": img, "wav": wav}
