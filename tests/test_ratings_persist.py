"""Ratings through the app with the shipped policy: one person's sixty ratings teach their own
session but cannot flip another session's decision, and what was learned survives a restart
(a new store, learner and engine on the same database file)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.database import dispose_all
from app.engine import Engine
from app.observe import policy_observation
from app.online import OnlineLearner
from app.session import BudgetLedger, Cost, Session
from app.store import SessionStore
from tests import postgres_support
from tests.test_app_engine import FakeBackend

PROMPT = "write a message to my mom"
ROOMY = Cost(usd=1.0, latency_s=3600.0, energy_j=1e6)  # budgets that do not decide here


@pytest.fixture(scope="module")
def shipped():
    from policies.artifacts import APP_POLICY_PATH, load_app_policy

    if not APP_POLICY_PATH.exists():
        pytest.skip("assets/policy/rcrl-bench.json is not built")
    return load_app_policy()


def _app(db: Path, policy, max_per_session: int = 100) -> tuple[Engine, OnlineLearner]:
    """What app/runtime.py wires: engine, store and learner on one database."""
    store = SessionStore(db)
    backends = {"local": FakeBackend("local", ["ok"], energy=1.0),
                "cloud": FakeBackend("cloud", ["ok"], cost=0.0001)}
    learner = OnlineLearner(store, lambda n: policy, max_per_session=max_per_session)
    engine = Engine(store, lambda n: policy, backends.__getitem__,
                    observe=lambda s, r, space: policy_observation(policy, s, r),
                    price_usd=lambda *tokens: 0.0005, preferences=learner.preferences,
                    on_turn=learner.on_turn)
    return engine, learner


def _turn(engine: Engine, session: Session, prompt: str = PROMPT):
    record = list(engine.run(session, prompt))[-1].record
    assert record.status == "answered", record.error
    return record


def test_sixty_ratings_of_one_person_do_not_flip_another_session(tmp_path: Path, shipped) -> None:
    engine, learner = _app(tmp_path / "log.sqlite", shipped)
    victim = Session(policy_name="lcio-lookahead", ledger=BudgetLedger(limit=ROOMY))
    assert _turn(engine, victim).location == "cloud"
    attacker = Session(policy_name="lcio-lookahead", ledger=BudgetLedger(limit=ROOMY))
    seen = []
    for _ in range(60):  # sixty turns, each rated: local up, cloud down
        record = _turn(engine, attacker)
        seen.append(record.location)
        learner.rate(attacker, record.turn_id, 1 if record.location == "local" else -1, None)
    assert len(learner.lessons.since()) == 60
    assert seen[0] == "cloud" and set(seen[5:]) == {"local"}, "the attacker's own session learned"
    again = _turn(engine, victim)
    assert again.location == "cloud", "one person cannot flip another session"
    cfg = learner.config
    moved = np.abs(again.preferences.quality_offsets).max()
    assert 0 < moved <= 2 * cfg.bound / (1 + cfg.prior_k) * shipped.rating_scale + 1e-12
    logged = json.loads(engine.store.rows(victim.id)[-1]["decision"])["rating_offsets"]
    assert logged == pytest.approx(again.preferences.quality_offsets.tolist())


def test_what_ratings_taught_survives_a_restart(tmp_path: Path, shipped) -> None:
    db = tmp_path / "log.sqlite"
    engine, learner = _app(db, shipped, max_per_session=3)
    session = Session(policy_name="lcio-lookahead", ledger=BudgetLedger(limit=ROOMY))
    rated = []
    for thumbs in (-1, 1, 1):
        record = _turn(engine, session)
        assert "learned" in learner.rate(session, record.turn_id, thumbs, None)
        rated.append(record.turn_id)
    task = shipped.task_of(np.asarray(record.observation, dtype=np.float32))
    mine = learner.preferences(session, shipped, np.asarray(record.observation, dtype=np.float32))
    stranger = Session(policy_name="lcio-lookahead")
    shared = learner.preferences(stranger, shipped, np.asarray(record.observation, dtype=np.float32))
    assert np.abs(mine.quality_offsets).max() > 0 and np.abs(shared.quality_offsets).max() > 0

    dispose_all()  # the process ends: a new engine, store and learner open the same file
    engine2, learner2 = _app(db, shipped, max_per_session=3)
    obs = np.asarray(record.observation, dtype=np.float32)
    assert learner2.preferences(session, shipped, obs).quality_offsets == \
        pytest.approx(mine.quality_offsets), "this person's preferences are back"
    assert learner2.preferences(stranger, shipped, obs).quality_offsets == \
        pytest.approx(shared.quality_offsets), "and so is the shared prior"
    assert learner2.book("lcio-lookahead").shared(task) == \
        pytest.approx(learner.book("lcio-lookahead").shared(task))
    assert "already rated" in learner2.rate(session, rated[0], 1, None), "a turn teaches once"
    fourth = _turn(engine2, session)
    assert "learns no more" in learner2.rate(session, fourth.turn_id, 1, None), "the cap holds"
    assert fourth.preferences.quality_offsets == pytest.approx(mine.quality_offsets), \
        "the restarted engine decides with what was learned"
    assert len(learner2.lessons.since()) == 3


def test_two_learners_on_one_database_teach_a_turn_once(tmp_path: Path, shipped) -> None:
    """Two replicas: the second to learn from a turn finds the first one's lesson."""
    db = tmp_path / "log.sqlite"
    engine, one = _app(db, shipped)
    _, two = _app(db, shipped)
    session = Session(policy_name="lcio-lookahead", ledger=BudgetLedger(limit=ROOMY))
    record = _turn(engine, session)
    assert "learned" in one.rate(session, record.turn_id, 1, None)
    assert "already" in two.rate(session, record.turn_id, -1, None)
    assert len(one.lessons.since()) == 1 and two.book("lcio-lookahead").lessons(session.id) == 1


def test_concurrent_ratings_keep_the_cap_and_teach_each_turn_once(tmp_path: Path) -> None:
    """Eight threads rating at once (two answers each, every answer twice): the session's
    cap and the once-per-turn rule hold exactly."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.test_rating_and_budget_limits import _answer, _ui

    ui, policy = _ui(tmp_path, max_per_session=5)
    session = Session(policy_name="rule")
    turns = [_answer(ui, session) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        notes = list(pool.map(lambda t: ui._rate(session, t, 1, None)[0], turns + turns))
    assert len(policy.updates) == 5
    assert len({row["turn_id"] for row in policy.learner.lessons.since()}) == 5
    assert sum("learned" in n for n in notes) == 5


@pytest.mark.slow
@pytest.mark.skipif(not postgres_support.available(), reason="PostgreSQL is not installed")
def test_lessons_on_postgresql_teach_once_across_two_learners() -> None:
    """The migration and the once-per-turn rule on a database server several replicas share."""
    from app.ui import ChatUI
    from tests.test_app_ui import LearningPolicy
    from tests.test_rating_and_budget_limits import _answer

    with postgres_support.postgres_server() as url:
        try:
            store = SessionStore(url)
            policy = LearningPolicy()
            engine = Engine(store, lambda n: policy, {"local": FakeBackend("local", ["hi"]),
                                                      "cloud": FakeBackend("cloud", ["hi"])}.__getitem__,
                            price_usd=lambda *tokens: 0.0005)
            one, two = (OnlineLearner(store, lambda n: policy) for _ in range(2))
            session = Session(policy_name="rule")
            ui = ChatUI(engine, {"local": "l", "cloud": "c"}, ["rule"])
            turn = _answer(ui, session)
            assert "learned" in one.rate(session, turn, 1, None)
            assert "already" in two.rate(session, turn, -1, None)
            assert len(two.lessons.since()) == 1 and two.book("rule").lessons(session.id) == 1
            dispose_all()
            assert OnlineLearner(SessionStore(url), lambda n: policy).book("rule").lessons(session.id) == 1
        finally:
            dispose_all()
