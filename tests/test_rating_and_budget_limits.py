"""What one stranger can do to the shared policy, to other sessions' charts and to their own
budgets is bounded: a turn teaches once, a session teaches a capped number of times, the
learning chart shows only the caller's ratings, and budgets are finite and within the maxima."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.online import OnlineLearner
from app.session import Session
from app.store import SessionStore
from app.ui import ChatUI
from backends.config import Settings
from tests.test_app_engine import FakeBackend
from tests.test_app_policy import _engine, planner  # noqa: F401  (the briefly trained policy)
from tests.test_app_ui import LearningPolicy


def test_twelve_ratings_of_one_turn_move_the_estimate_as_much_as_one(tmp_path: Path, planner) -> None:  # noqa: F811
    session = Session(policy_name="lcio-lookahead")
    engine = _engine(tmp_path, planner)
    learner = OnlineLearner(engine.store, lambda n: planner)
    list(engine.run(session, "write a message to my mom"))
    turn = session.turn_ids[-1]
    first = learner.rate(session, turn, 1, None)
    book = learner.book("lcio-lookahead")
    after_one = [book.offsets(session.id, t).copy() for t in range(book.shape[0])]
    notes = [learner.rate(session, turn, thumbs, None) for thumbs in [1, -1] * 5 + [1]]
    after_twelve = [book.offsets(session.id, t) for t in range(book.shape[0])]
    assert sum(abs(o).sum() for o in after_one) > 0, "one rating must move the estimate"
    assert all(a == pytest.approx(b) for a, b in zip(after_one, after_twelve, strict=True))
    assert "learned" in first and all("already rated" in note for note in notes)
    assert len(engine.store.ratings()) == 12, "every rating is still stored"
    assert len(learner.points_of(session.id)) == 1 and len(learner.lessons.since()) == 1


def test_one_rating_moves_the_shared_prior_a_bounded_step(tmp_path: Path) -> None:
    """However wild the policy's estimate, a lesson stays on the rating scale and one session
    moves what others decide with by at most 2·bound / (1 + prior_k)."""
    import numpy as np

    class Overconfident(LearningPolicy):
        def estimates(self, observation):
            return {"quality": np.full(self.space.n, -1e9)}

    policy = Overconfident()
    ui, _ = _ui(tmp_path)
    learner = OnlineLearner(ui.engine.store, lambda n: policy)
    ui.engine.policy_for = lambda n: policy
    session = Session(policy_name="rule")
    learner.rate(session, _answer(ui, session), 1, None)
    (lesson,) = learner.lessons.since()
    assert lesson["residual"] == 2.0, "clipped to the scale's range"
    cfg, shared = learner.config, learner.book("rule").shared(0)
    assert 0 < np.abs(shared).max() <= 2 * cfg.bound / (1 + cfg.prior_k)
    assert np.abs(learner.book("rule").offsets("someone else", 0)).max() == np.abs(shared).max()


def _ui(tmp_path: Path, max_per_session: int = 50, **settings) -> tuple[ChatUI, LearningPolicy]:
    from app.engine import Engine

    store = SessionStore(tmp_path / "log.sqlite")
    policy = LearningPolicy()
    backends = {"local": FakeBackend("local", ["hi"], energy=1.0),
                "cloud": FakeBackend("cloud", ["hi"], cost=0.001)}
    engine = Engine(store, lambda n: policy, backends.__getitem__, settings=Settings(**settings),
                    price_usd=lambda *tokens: 0.0005)
    learner = OnlineLearner(store, lambda n: policy, max_per_session=max_per_session)
    policy.learner = learner
    return ChatUI(engine, {"local": "l", "cloud": "c"}, ["rule"], rate=learner.rate,
                  learning_points=learner.points_of), policy


def _answer(ui: ChatUI, session: Session) -> int:
    list(ui.respond("hello", [], session))
    return session.turn_ids[-1]


def test_a_session_teaches_at_most_its_cap(tmp_path: Path) -> None:
    ui, policy = _ui(tmp_path, max_per_session=3)
    session = Session(policy_name="rule")
    notes = [ui._rate(session, _answer(ui, session), 1, None)[0] for _ in range(5)]
    assert len(policy.updates) == 3
    assert "learns no more" in notes[-1]


def test_the_learning_chart_shows_only_the_callers_ratings(tmp_path: Path) -> None:
    ui, _ = _ui(tmp_path)
    mine, theirs = Session(policy_name="rule"), Session(policy_name="rule")
    for _ in range(4):
        ui._rate(theirs, _answer(ui, theirs), 1, None)
    _, chart = ui._rate(mine, _answer(ui, mine), -1, None)
    assert len(chart.data[0].x) == 1, "only my own rating is drawn"


@pytest.mark.parametrize("usd,expect", [(float("inf"), 0.0), (1e9, 1.0), (float("nan"), 0.0),
                                        (-5.0, 0.0), ("Infinity", 0.0), (0.2, 0.2)])
def test_a_session_budget_is_finite_and_within_the_maximum(tmp_path: Path, usd, expect: float) -> None:
    ui, _ = _ui(tmp_path)
    session, *_, note = ui.new_session(usd, 1e9, float("nan"), 1.0, 1 / 3, 1 / 3, "rule")
    assert session.ledger.limit.usd == expect
    assert session.ledger.limit.latency_s == Settings().max_session_s == 3600.0
    assert session.ledger.limit.energy_j == 0.0
    assert "at most 3600" in note and "energy budget must be a number" in note
    if usd == 1e9:
        assert "cloud budget is at most 1" in note
    elif usd != usd or usd in (float("inf"), "Infinity"):  # NaN or infinite: refused, not clamped
        assert "cloud budget must be a number" in note


def test_the_maxima_are_configurable(tmp_path: Path) -> None:
    ui, _ = _ui(tmp_path, max_session_usd=0.1)
    session, *_ = ui.new_session(0.5, 10, 10, 1.0, 1 / 3, 1 / 3, "rule")
    assert session.ledger.limit.usd == 0.1
