"""The one guard rule (`policies.guard`) and the bench's use of it, as properties.

- admission: a higher quantile never admits more; the pacing reserve keeps what it promises and
  never refuses a turn by itself; the floor must fit outright;
- the bench's quantile bound grows with the quantile and reaches the largest cost seen at 1;
- no bench dialogue overspends, whatever its budgets and whatever its turns really cost
  (measured costs scaled by up to 4×, far past anything the guard learned).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lab.bench_eval import scaled
from policies.bench.dataset import complete_dialogues
from policies.bench.outcome import OutcomeModel
from policies.bench_policy import BenchEnv, BenchEnvConfig, BenchPlanner, BenchPlannerConfig
from policies.guard import admit, cheapest, guard_quantile, pacing_reserve, turns_left
from tests.test_bench_policy import write_sample

costs = st.floats(0.0, 10.0, allow_nan=False)
QUICK = settings(max_examples=60, deadline=None)


def _rows(n: int) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, (n, 3), elements=costs)


@QUICK
@given(remaining=arrays(np.float64, 3, elements=costs), low=_rows(6), extra=_rows(6),
       reserve=arrays(np.float64, 3, elements=st.floats(0.0, 5.0)))
def test_a_larger_bound_never_admits_more(remaining: np.ndarray, low: np.ndarray, extra: np.ndarray,
                                          reserve: np.ndarray) -> None:
    """A higher quantile is a larger bound for every action: its mask is a subset (no reserve:
    with one, pacing may give way at the higher bound, so only the unpaced rule is monotone)."""
    small, _ = admit(remaining, low)
    large, _ = admit(remaining, low + extra)
    assert not np.any(large & ~small)


@QUICK
@given(remaining=arrays(np.float64, 3, elements=costs), bound=_rows(5), floor=_rows(5),
       reserve=arrays(np.float64, 3, elements=st.floats(0.0, 5.0)),
       allowed=arrays(bool, 5))
def test_admission_keeps_the_reserve_or_gives_way(remaining: np.ndarray, bound: np.ndarray,
                                                  floor: np.ndarray, reserve: np.ndarray,
                                                  allowed: np.ndarray) -> None:
    unpaced, _ = admit(remaining, bound, floor, None, allowed)
    mask, paced = admit(remaining, bound, floor, reserve, allowed)
    assert not np.any(mask & ~unpaced), "pacing only removes actions"
    assert not np.any(mask & ~allowed)
    for i in np.flatnonzero(mask):  # everything admitted fits, floor and bound
        assert np.all(floor[i] <= remaining + 1e-12) and np.all(bound[i] <= remaining + 1e-12)
        if paced:
            assert np.all(bound[i] + reserve <= remaining + 1e-9), "the reserve is kept"
    if unpaced.any():
        assert mask.any(), "pacing alone never refuses a turn"


@QUICK
@given(lengths=st.dictionaries(st.integers(1, 30), st.integers(1, 50), min_size=1),
       turn=st.integers(0, 40))
def test_expected_turns_left_shrink_as_the_dialogue_goes_on(lengths: dict[int, int], turn: int) -> None:
    now, later = turns_left(turn, lengths), turns_left(turn + 1, lengths)
    assert now >= 0 and later >= 0
    assert now <= max(lengths) - turn - 1 + 1e-9 or now == 0
    if all(n > turn + 1 for n in lengths):  # no dialogue ends here: one turn fewer ahead
        assert later == pytest.approx(now - 1)


def test_pacing_reserves_the_cheapest_action_per_turn_left() -> None:
    expected = np.array([[2.0, 0.0, 40.0], [3.0, 1e-4, 0.0], [9.0, 5e-4, 0.0]])
    remaining = np.array([30.0, 8e-4, 120.0])
    # shares of the tightest budget: 0.33, 0.125, 0.625 -> the text cloud call is the cheapest
    assert cheapest(expected, remaining) == 1
    assert cheapest(expected, remaining, np.array([True, False, True])) == 0
    assert cheapest(expected, remaining, np.zeros(3, dtype=bool)) == -1
    assert pacing_reserve(2.5, expected[1]).tolist() == pytest.approx([7.5, 2.5e-4, 0.0])
    # with its bound: the last turn kept at its quantile, the others at their expected cost
    bound = expected * 1.5
    assert pacing_reserve(2.5, expected[1], bound[1]).tolist() == pytest.approx([9.0, 3e-4, 0.0])
    assert pacing_reserve(0.5, expected[1], bound[1]).tolist() == pytest.approx([2.25, 0.75e-4, 0.0])
    assert pacing_reserve(0.0, expected[1], bound[1]).tolist() == [0.0, 0.0, 0.0]
    # the paced rule keeps the expensive call out while the reserve holds, lets it in after
    reserve = pacing_reserve(1.0, expected[1], bound[1])
    mask, paced = admit(remaining, bound, reserve=reserve)
    assert paced and mask.tolist() == [True, True, False]
    mask, paced = admit(remaining, bound, reserve=pacing_reserve(0.0, expected[1], bound[1]))
    assert not paced and mask.tolist() == [True, True, True]


def test_the_quantile_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LCIO_GUARD_QUANTILE", raising=False)
    assert guard_quantile() == 0.8
    monkeypatch.setenv("LCIO_GUARD_QUANTILE", "0.9")
    assert guard_quantile() == 0.9 and guard_quantile(0.99) == 0.99
    for bad in ("0", "1.5", "nan"):
        monkeypatch.setenv("LCIO_GUARD_QUANTILE", bad)
        with pytest.raises(ValueError):
            guard_quantile()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[BenchPlanner, list]:
    sample = write_sample(tmp_path_factory.mktemp("guard") / "sample.jsonl", n_dialogues=30, seed=3)
    dialogues = complete_dialogues(sample)
    policy, _ = BenchPlanner.train(dialogues[:20], BenchPlannerConfig(epochs=3), progress=False)
    return policy, dialogues[20:]


@settings(max_examples=20, deadline=None)
@given(levels=st.lists(st.floats(0.5, 1.0), min_size=2, max_size=6))
def test_the_bench_bound_grows_with_the_quantile(trained: tuple[BenchPlanner, list],
                                                 levels: list[float]) -> None:
    outcomes: OutcomeModel = trained[0].outcomes
    bounds = [outcomes.predict(0, ("image", "audio"), quantile=q)[2] for q in sorted(levels)]
    for lower, higher in zip(bounds, bounds[1:], strict=False):
        assert np.all(lower <= higher + 1e-15)
    top = outcomes.predict(0, ("image", "audio"), quantile=1.0)[2]
    assert np.all(top <= np.array([max(v[j] for v in outcomes.cost_worst.values()) for j in range(3)]))


def _scaled_costs(dialogues: list, factors: np.ndarray) -> list:
    """The dialogues with every measured cost × its factor (cycled): turns that cost far more
    than the guard ever saw."""
    out, k = [], 0
    for d in dialogues:
        turns = []
        for t in d:
            f = factors[k % len(factors)]
            k += 1
            turns.append(dataclasses.replace(t, latency_s=t.latency_s * f[0], usd=t.usd * f[1],
                                             energy_j=t.energy_j * f[2]))
        out.append(turns)
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scale=st.floats(0.05, 3.0), quantile=st.floats(0.5, 1.0), pacing=st.booleans(),
       factors=arrays(np.float64, (7, 3), elements=st.floats(0.0, 4.0)))
def test_no_bench_dialogue_overspends(trained: tuple[BenchPlanner, list], scale: float,
                                      quantile: float, pacing: bool, factors: np.ndarray) -> None:
    policy, test = trained
    env = BenchEnv(_scaled_costs(test, factors), policy.classifier, policy.outcomes,
                   BenchEnvConfig(quantile=quantile, pacing=pacing))
    budgets = scaled(scale)
    for i in range(len(env.dialogues)):
        obs, _ = env.reset(options={"dialogue": i, "budgets": budgets})
        done = False
        while not done:
            mask = env.action_masks()
            action = policy.decide(obs, mask).action if mask.any() else -1
            assert action < 0 or mask[action]
            obs, _, done, _, info = env.step(action)
            assert not info["over_budget"], info
            assert all(env.remaining[r] >= -1e-12 for r in budgets)
            assert not (info["refused"] and info["cut"])


def test_cut_turns_are_charged_what_was_left(tmp_path: Path, trained: tuple[BenchPlanner, list]) -> None:
    """Not vacuous: at a tiny budget with costs 4× the measured ones, some turns start and are cut."""
    policy, test = trained
    env = BenchEnv(_scaled_costs(test, np.full((1, 3), 4.0)), policy.classifier, policy.outcomes,
                   BenchEnvConfig(quantile=0.5))
    cuts = 0
    for i in range(len(env.dialogues)):
        obs, _ = env.reset(options={"dialogue": i, "budgets": scaled(0.5)})
        done = False
        while not done:
            mask = env.action_masks()
            before = dict(env.remaining)
            obs, _, done, _, info = env.step(policy.decide(obs, mask).action if mask.any() else -1)
            if info["cut"]:
                cuts += 1
                assert info["quality"] == 0.0
                assert any(info["costs"][r] == pytest.approx(before[r]) for r in before)
    assert cuts > 0
