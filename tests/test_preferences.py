"""The preference book's bounds (policies/preferences.py), property-based: whatever one session
rates, or one rater (a client address) through any number of sessions, what everyone else
decides with moves at most 2·bound / (1 + prior_k), the shared prior never leaves ±bound, and
replaying the stored lessons in any order rebuilds the same book."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.preferences import Lesson, PreferenceBook, ShrinkConfig, residual

TASKS, ACTIONS = 3, 4
CFG = ShrinkConfig(bound=0.5, prior_k=20.0, own_k=2.0)
STEP = 2 * CFG.bound / (1 + CFG.prior_k)

cells = st.tuples(st.integers(0, TASKS - 1), st.integers(0, ACTIONS - 1),
                  st.floats(-5.0, 5.0, allow_nan=False))  # beyond the scale: the book clips
crowd = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), cells), max_size=40)
# Sessions that share addresses: (session, rater, cell); rater "" is the session's own.
crowd_at = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]),
                              st.sampled_from(["", "10.0.0.1", "10.0.0.2"]), cells), max_size=40)
attack = st.lists(cells, min_size=1, max_size=80)


def _book(lessons: list[tuple[str, tuple[int, int, float]]], mode: str = "personal") -> PreferenceBook:
    book = PreferenceBook(TASKS, ACTIONS, CFG, mode)  # type: ignore[arg-type]
    for session, (t, a, r) in lessons:
        book.add(Lesson(session, t, a, r))
    return book


def _all(book: PreferenceBook, session: str) -> np.ndarray:
    return np.stack([book.offsets(session, t) for t in range(TASKS)])


@settings(max_examples=150, deadline=None)
@given(crowd, attack)
def test_one_session_moves_everyone_else_a_bounded_step(before: list, mine: list) -> None:
    book = _book(before)
    others = ["a", "b", "c", "d", "never rated"]
    was = {s: _all(book, s) for s in others}
    for t, a, r in mine:
        book.add(Lesson("attacker", t, a, r))
    for s in others:
        assert np.abs(_all(book, s) - was[s]).max() <= STEP + 1e-12, s
    for t in range(TASKS):
        assert np.abs(book.shared(t)).max() <= CFG.bound + 1e-12


@settings(max_examples=150, deadline=None)
@given(crowd_at, st.lists(st.tuples(st.integers(0, 40), cells), min_size=1, max_size=80))
def test_one_rater_moves_everyone_else_a_bounded_step_however_many_sessions(
        before: list, mine: list) -> None:
    book = PreferenceBook(TASKS, ACTIONS, CFG)
    for session, rater, (t, a, r) in before:
        book.add(Lesson(session, t, a, r, rater))
    others = ["a", "b", "c", "d", "never rated"]
    was = {s: _all(book, s) for s in others}
    for i, (t, a, r) in mine:  # up to 41 sessions, all from one address
        book.add(Lesson(f"attacker-{i}", t, a, r, "203.0.113.9"))
    for s in others:
        assert np.abs(_all(book, s) - was[s]).max() <= STEP + 1e-12, s
    for t in range(TASKS):
        assert np.abs(book.shared(t)).max() <= CFG.bound + 1e-12


def test_thirteen_sessions_of_one_address_count_as_one_rater() -> None:
    book = PreferenceBook(TASKS, ACTIONS, CFG)
    for i in range(13):
        book.add(Lesson(f"s{i}", 0, 1, -2.0, "198.51.100.7"))
    assert book.offsets("fresh", 0)[1] == pytest.approx(-CFG.bound / (1 + CFG.prior_k))
    assert book.offsets("s0", 0)[1] == pytest.approx(-2.0 / 3), "its own mean, others' prior 0"
    apart = PreferenceBook(TASKS, ACTIONS, CFG)  # the same sessions without an address
    for i in range(13):
        apart.add(Lesson(f"s{i}", 0, 1, -2.0))
    assert apart.offsets("fresh", 0)[1] == pytest.approx(-13 * CFG.bound / (13 + CFG.prior_k))


@settings(max_examples=100, deadline=None)
@given(crowd, st.randoms(use_true_random=False))
def test_replaying_the_lessons_in_any_order_rebuilds_the_book(lessons: list, rng) -> None:
    shuffled = list(lessons)
    rng.shuffle(shuffled)
    one, two = _book(lessons), _book(shuffled)
    for s in ("a", "b", "c", "d", "new"):
        assert _all(one, s) == pytest.approx(_all(two, s), abs=1e-9)
        assert one.lessons(s) == two.lessons(s)


@settings(max_examples=100, deadline=None)
@given(crowd_at, st.randoms(use_true_random=False))
def test_replaying_lessons_with_raters_in_any_order_rebuilds_the_book(lessons: list, rng) -> None:
    shuffled = list(lessons)
    rng.shuffle(shuffled)
    one, two = PreferenceBook(TASKS, ACTIONS, CFG), PreferenceBook(TASKS, ACTIONS, CFG)
    for book, order in ((one, lessons), (two, shuffled)):
        for session, rater, (t, a, r) in order:
            book.add(Lesson(session, t, a, r, rater))
    for s in ("a", "b", "c", "d", "new"):
        assert _all(one, s) == pytest.approx(_all(two, s), abs=1e-9)


def test_a_session_learns_its_own_preference_and_the_crowd_barely_moves() -> None:
    book = PreferenceBook(TASKS, ACTIONS, CFG)
    for _ in range(30):
        book.add(Lesson("me", 1, 2, -1.5))  # I keep rating action 2 of task 1 far below its estimate
    mine, theirs = book.offsets("me", 1), book.offsets("you", 1)
    assert mine[2] == pytest.approx(30 * -1.5 / 32, rel=1e-9), "my mean, shrunk by own_k = 2"
    assert theirs[2] == pytest.approx(-CFG.bound / (1 + CFG.prior_k)), "one session: bound/(1+k)"
    assert mine[[0, 1, 3]].tolist() == [0.0, 0.0, 0.0] and book.offsets("me", 0).tolist() == [0.0] * 4


def test_many_sessions_that_agree_move_the_shared_prior() -> None:
    book = PreferenceBook(TASKS, ACTIONS, CFG)
    for i in range(200):
        book.add(Lesson(f"s{i}", 0, 1, 1.0))
    assert book.offsets("newcomer", 0)[1] == pytest.approx(CFG.bound * 200 / 220)


def test_the_modes_for_the_regret_comparison() -> None:
    lessons = [("a", (0, 1, 1.0)), ("a", (0, 1, 1.0)), ("b", (0, 2, -1.0))]
    assert not _all(_book(lessons, "none"), "a").any()
    shared = _book(lessons, "shared")
    assert _all(shared, "a") == pytest.approx(_all(shared, "z"))
    assert _book(lessons)._raters[0, 1] == 1 and _book(lessons).lessons("a") == 2


def test_the_book_grows_to_the_policys_shape() -> None:
    book = PreferenceBook(0, 0, CFG)
    book.add(Lesson("a", 5, 15, 1.0))
    assert book.shape == (6, 16) and book.offsets("a", 5)[15] > 0
    assert book.offsets("a", 99).shape == (16,), "a task never rated: no offsets"
    with pytest.raises(ValueError):
        book.add(Lesson("a", -1, 0, 1.0))


@pytest.mark.parametrize("rating,estimate,scale,expect", [
    (2.0, 0.5, 0.5, 1.0), (0.0, 0.5, 0.5, -1.0), (2.0, -1e9, 0.5, 2.0), (9.0, 0.0, 1.0, 2.0),
    (1.0, float("nan"), 0.5, 0.0)])
def test_a_residual_stays_on_the_rating_scale(rating, estimate, scale, expect) -> None:
    assert residual(rating, estimate, scale) == pytest.approx(expect)
