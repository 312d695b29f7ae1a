"""The app's guard as properties: the predicted quantile grows with q, admission by quantile +
pacing, and the run-time bound, so no sequence of turns (costs drawn around, up to and far
past the predictions; random budgets) makes the ledger overspend.
`tests/test_guard.py` runs the same through the real engine (`app.tools.guard_sim`)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import Engine
from app.guard import (
    FLOOR_TOKENS,
    MIN_LOGGED_SESSIONS,
    admission,
    expected_turns,
    pacing_lengths,
    run_bound,
)
from app.predict import CostPredictor, PathModel, TurnShape
from app.session import BudgetLedger, Cost
from app.store import SessionStore
from backends.config import Settings
from backends.types import Completion

QUICK = settings(max_examples=80, deadline=None)
amount = st.floats(0.0, 50.0, allow_nan=False)


@QUICK
@given(residuals=st.lists(st.floats(-3.0, 3.0), max_size=25),
       levels=st.lists(st.floats(0.01, 1.0), min_size=2, max_size=8))
def test_the_upper_quantile_grows_with_q(residuals: list[float], levels: list[float]) -> None:
    path = PathModel.new("cloud")
    for r in residuals:
        path.residual("usd", math.exp(r), 1.0)
    factors = [path.upper("usd", q) for q in sorted(levels)]
    assert all(a <= b for a, b in zip(factors, factors[1:], strict=False))
    assert all(f >= 1.0 for f in factors)
    assert path.upper("usd", 1.0) == math.inf


def test_the_predictor_bounds_what_it_has_seen() -> None:
    """With 19 past misses, q = 0.95 is the largest of them; q = 0.99 asks for more than they
    show and gets the prior stretched (at least the largest miss)."""
    predictor = CostPredictor(Settings(), lambda p, n, a, i: (p + 4 * n) * 1e-6, lambda: 10.0)
    shape = TurnShape("cloud", text_bytes=400, max_new_tokens=64)
    rng = np.random.default_rng(0)
    for _ in range(19):
        tokens = int(rng.integers(10, 64))
        predictor.observe(shape, Completion("x", "cloud", "m", 0.2, 0.2 + tokens * 0.04, 100, tokens,
                                            cost_usd=(100 + 4 * tokens) * 1e-6))
    point = predictor.predict(shape).cost
    q80, q95, q99 = (predictor.upper(shape, q) for q in (0.8, 0.95, 0.99))
    assert point.usd <= q80.usd <= q95.usd <= q99.usd
    assert point.latency_s <= q80.latency_s <= q95.latency_s <= q99.latency_s
    worst_miss = max(predictor._paths["cloud"].residuals["usd"])
    assert q95.usd == pytest.approx(point.usd * math.exp(max(worst_miss, 0.0)))
    assert math.isinf(predictor.upper(shape, 1.0).latency_s)


def _costs(draw: st.DrawFn, n: int) -> list[Cost]:
    return [Cost(usd=draw(amount) * 1e-3, latency_s=draw(amount),
                 energy_j=draw(amount) * 10) for _ in range(n)]


@QUICK
@given(data=st.data(), q_low=st.floats(0.5, 1.0), q_high=st.floats(0.5, 1.0))
def test_admission_by_a_higher_quantile_is_a_subset(data: st.DataObject, q_low: float, q_high: float) -> None:
    q_low, q_high = sorted((q_low, q_high))
    n = 6
    worst = _costs(data.draw, n)
    point = [Cost(usd=w.usd / 3, latency_s=w.latency_s / 3, energy_j=w.energy_j / 3) for w in worst]
    ledger = BudgetLedger(limit=Cost(usd=data.draw(amount) * 1e-3, latency_s=data.draw(amount),
                                     energy_j=data.draw(amount) * 10))

    def upper(q: float) -> list[Cost]:  # a log-normal spread around the point
        z = 2.0 * (q - 0.5)
        return [Cost(usd=p.usd * math.exp(z), latency_s=p.latency_s * math.exp(z),
                     energy_j=p.energy_j * math.exp(z)) for p in point]

    low = admission(worst, [Cost()] * n, upper(q_low), point, ledger, 0, turns=1)
    high = admission(worst, [Cost()] * n, upper(q_high), point, ledger, 0, turns=1)
    assert not np.any(high.mask & ~low.mask)
    assert all(b.usd <= w.usd for b, w in zip(high.bound, worst, strict=True)), "never past the worst case"


@QUICK
@given(data=st.data(), turn=st.integers(0, 12), turns=st.floats(1.0, 20.0))
def test_pacing_keeps_room_for_the_turns_to_come(data: st.DataObject, turn: int, turns: float) -> None:
    n = 5
    point = _costs(data.draw, n)
    upper = [Cost(usd=p.usd * 1.5, latency_s=p.latency_s * 1.5, energy_j=p.energy_j * 1.5) for p in point]
    ledger = BudgetLedger(limit=Cost(usd=data.draw(amount) * 1e-2, latency_s=data.draw(amount) * 5,
                                     energy_j=data.draw(amount) * 50))
    floors = [Cost()] * n
    alone = admission(upper, floors, upper, point, ledger, turn, turns=1)
    paced = admission(upper, floors, upper, point, ledger, turn, turns=turns)
    assert not np.any(paced.mask & ~alone.mask), "pacing only removes actions"
    if alone.mask.any():
        assert paced.mask.any(), "pacing alone never refuses a turn"
    left = ledger.remaining
    for i in np.flatnonzero(paced.mask):
        for r in ("usd", "latency_s", "energy_j"):
            assert getattr(upper[i], r) + getattr(paced.reserve, r) <= getattr(left, r) + 1e-9
    if turn + 1 >= turns:
        assert paced.reserve == Cost(), "no turns expected after this one: nothing kept"


def test_pacing_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LCIO_GUARD_TURNS", "4")
    assert expected_turns() == 4.0
    monkeypatch.setenv("LCIO_GUARD_TURNS", "0")
    with pytest.raises(ValueError):
        expected_turns()


def _log_sessions(store: SessionStore, lengths: dict[str, int], rejected: str = "") -> None:
    for sid, n in lengths.items():
        for i in range(n):
            store.log_turn({"session_id": sid, "turn_index": i, "status": "answered"})
    if rejected:
        store.log_turn({"session_id": rejected, "turn_index": 99, "status": "rejected"})


def test_pacing_reads_how_long_sessions_in_the_log_really_were(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LCIO_GUARD_TURNS", raising=False)
    store = SessionStore(tmp_path / "log.sqlite")
    _log_sessions(store, {"a": 3, "b": 1}, rejected="a")  # a rejected turn is not a turn
    assert store.session_lengths() == {3: 1, 1: 1}
    assert pacing_lengths(store.session_lengths()) is None  # too few sessions: the prior
    _log_sessions(store, {f"s{i}": 2 for i in range(MIN_LOGGED_SESSIONS)})
    assert pacing_lengths(store.session_lengths()) == {3: 1, 1: 1, 2: MIN_LOGGED_SESSIONS}
    engine = Engine(store, policy_for=lambda name: None, backend_for=lambda name: None)
    assert engine.dialogue_lengths == {3: 1, 1: 1, 2: MIN_LOGGED_SESSIONS}  # read at start
    monkeypatch.setenv("LCIO_GUARD_TURNS", "6")  # the operator's word wins
    assert pacing_lengths(store.session_lengths()) is None


def test_logged_short_sessions_keep_nothing_back_where_the_prior_would() -> None:
    cloud, local = Cost(usd=0.01, latency_s=5.0), Cost(latency_s=1.0, energy_j=1.0)
    costs, floors = [cloud, local], [Cost(), Cost()]
    ledger = BudgetLedger(Cost(usd=0.015, latency_s=12.0, energy_j=100.0))
    # Turn 0: the 10-turn prior keeps 9 local turns' seconds back, so the cloud must wait;
    # where every logged session had one turn, nothing is kept and the cloud may answer.
    prior = admission(costs, floors, costs, costs, ledger, 0, turns=10)
    logged = admission(costs, floors, costs, costs, ledger, 0, turns=10, lengths={1: 30})
    assert list(prior.mask) == [False, True] and prior.reserve.latency_s == pytest.approx(9.0)
    assert list(logged.mask) == [True, True] and logged.reserve == Cost()
    three = admission(costs, floors, costs, costs, ledger, 0, turns=1, lengths={3: 30})
    assert three.reserve.latency_s == pytest.approx(2.0)  # two more turns are paced for


def _affine(base: Cost, per_token: Cost):
    return lambda n: Cost(usd=base.usd + n * per_token.usd,
                          latency_s=base.latency_s + n * per_token.latency_s,
                          energy_j=base.energy_j + n * per_token.energy_j)


@QUICK
@given(data=st.data(), n_new=st.integers(1, 512))
def test_the_run_bound_fits_and_caps_the_answer_at_the_dollars_left(data: st.DataObject, n_new: int) -> None:
    worst_at = _affine(Cost(usd=data.draw(amount) * 1e-4, latency_s=data.draw(amount),
                            energy_j=data.draw(amount)),
                       Cost(usd=data.draw(amount) * 1e-6, latency_s=data.draw(amount) / 100,
                            energy_j=data.draw(amount) / 10))
    left = Cost(usd=data.draw(amount) * 1e-3, latency_s=data.draw(amount) * 2,
                energy_j=data.draw(amount) * 20)
    bound = run_bound(worst_at, n_new, left)
    floor = worst_at(min(FLOOR_TOKENS, n_new))
    floor_fits = all(getattr(floor, r) <= getattr(left, r) + 1e-12 for r in ("usd", "latency_s", "energy_j"))
    assert (bound is not None) == floor_fits
    if bound is None:
        return
    held, cap = bound
    assert min(FLOOR_TOKENS, n_new) <= cap <= n_new
    assert held.usd == worst_at(cap).usd <= left.usd + 1e-12
    assert cap == n_new or worst_at(cap + 1).usd > left.usd + 1e-12, "the longest answer that fits"
    assert held.latency_s <= left.latency_s and held.energy_j <= left.energy_j


@settings(max_examples=150, deadline=None)
@given(data=st.data(), turns=st.integers(1, 25), q=st.floats(0.5, 1.0), pace=st.floats(1.0, 15.0))
def test_no_sequence_of_turns_overspends(data: st.DataObject, turns: int, q: float, pace: float) -> None:
    """Turns chosen among what the guard admits, each costing anything from a fraction of its
    prediction to 3× its worst case, stopped where the engine stops them (the dollars at the
    token cap, time and energy at the deadline): the ledger never goes past a limit."""
    scale = [data.draw(st.floats(0.1, 3.0)) for _ in range(3)]
    ledger = BudgetLedger(limit=Cost(usd=0.05 * scale[0], latency_s=300.0 * scale[1],
                                     energy_j=3000.0 * scale[2]))
    watts = 40.0
    for turn in range(turns):
        n = 4
        per_token = [Cost(usd=data.draw(st.floats(0, 2e-4)), latency_s=data.draw(st.floats(0.01, 0.5)))
                     for _ in range(n)]
        base = [Cost(usd=data.draw(st.floats(0, 5e-3)), latency_s=data.draw(st.floats(0.5, 60.0)))
                for _ in range(n)]
        local = [data.draw(st.booleans()) for _ in range(n)]
        worst_fns = [_affine(Cost(usd=0.0 if lo else b.usd, latency_s=b.latency_s,
                                  energy_j=b.latency_s * watts if lo else 0.0),
                             Cost(usd=0.0 if lo else p.usd, latency_s=p.latency_s,
                                  energy_j=p.latency_s * watts if lo else 0.0))
                     for b, p, lo in zip(base, per_token, local, strict=True)]
        worst = [f(256) for f in worst_fns]
        point = [Cost(usd=w.usd / 4, latency_s=w.latency_s / 4, energy_j=w.energy_j / 4) for w in worst]
        spread = 1 + 3 * q
        upper = [Cost(usd=p.usd * spread, latency_s=p.latency_s * spread,
                      energy_j=p.energy_j * spread) for p in point]
        floors = [f(FLOOR_TOKENS) for f in worst_fns]
        admitted = admission(worst, floors, upper, point, ledger, turn, turns=pace)
        if not admitted.mask.any():
            continue  # refused: nothing runs
        i = data.draw(st.sampled_from([int(j) for j in np.flatnonzero(admitted.mask)]))
        bound = run_bound(worst_fns[i], 256, ledger.remaining)
        assert bound is not None, "an admitted action's floor fits"
        held, cap = bound
        ledger.reserve(held)
        deadline = (ledger.remaining + held).latency_s
        if local[i]:
            deadline = min(deadline, (ledger.remaining + held).energy_j / watts)
        # far past the worst case too
        ran = worst[i].latency_s * data.draw(st.just(3.0) | st.floats(0.0, 3.0))
        ran = min(ran, deadline)  # the watchdog
        # the endpoint bills at most the tokens it may send
        usd = worst_fns[i](cap).usd * data.draw(st.just(1.0) | st.floats(0.0, 1.0))
        ledger.release(held)
        joules = ran * watts * data.draw(st.floats(0.0, 1.0)) if local[i] else 0.0
        ledger.charge_cost(Cost(usd=usd, latency_s=ran, energy_j=joules))
        assert not ledger.overspent(), (turn, ledger)
