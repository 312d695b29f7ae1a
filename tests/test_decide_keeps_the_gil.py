"""The decision's GIL-free rewrites give the numbers of the numpy formulas they replace.

`PromptQualityModel.predict` reads the context sparsely in plain Python and
`LagrangeTable.cell` bisects in plain Python, so that a decision in the busy app never
hands the GIL to the thread generating a local answer (docs/results.md, "The policy on LCIO-Bench v2").
Here each is checked against the dense computation it replaced, on LCIO-Bench v2's own turns
with the shipped policy, and on random and boundary budgets.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from policies.artifacts import load_app_policy
from policies.base import Preferences, RewardWeights
from policies.bench.dataset import load_bench
from policies.bench.prompt_quality import LOCATIONS, context_features, turn_observations
from policies.lagrange import BUDGET_EDGES, LagrangeTable

V2 = Path(__file__).resolve().parent.parent / "assets" / "bench" / "lcio-bench-v2.jsonl"


def dense_predict(model, observation: np.ndarray, space) -> np.ndarray:
    """The formula as it was: TF-IDF features, then a matrix product per location."""
    from policies.bench.observation import kinds_from_obs

    x = context_features(observation, model._idf)[0]
    loc, cross, flags = model._shape_table(kinds_from_obs(observation), space)
    per_loc = model._crossed @ x
    q = model._mean[loc] + (cross * per_loc[loc]).sum(1) + (flags * model._alone[loc]).sum(1)
    return np.clip(q, 0.0, 1.0)


@pytest.fixture(scope="module")
def shipped():
    policy = load_app_policy()
    bench = load_bench(V2)
    dialogues = list(bench.dialogues.values())[:60]
    obs, _ = turn_observations(dialogues, policy.classifier)
    return policy, obs


def test_sparse_quality_equals_the_dense_formula_on_bench_turns(shipped) -> None:
    policy, obs = shipped
    model = policy.quality_model
    assert model is not None and len(LOCATIONS) == 2
    assert len(obs) > 100
    for o in obs:
        sparse = model.predict(o.astype(np.float32), policy.space)
        assert np.allclose(sparse, dense_predict(model, o.astype(np.float32), policy.space),
                           rtol=0, atol=1e-12)


def test_bisect_lookup_equals_the_searchsorted_cells() -> None:
    """`cell` and `lookup` against the numpy formula they replaced."""
    rng = np.random.default_rng(0)
    table = LagrangeTable(("latency_s", "usd", "energy_j"), (2.0, 1e-4, 30.0),
                          values=rng.random((3, 5, len(BUDGET_EDGES) + 1)))
    units = np.asarray(table.units)
    edges_exactly = [np.asarray(table.units) * e for e in BUDGET_EDGES]
    for remaining in [*edges_exactly, *rng.random((300, 3)) * units * 9, np.zeros(3)]:
        for turn in (0, 3, 4, 9):
            t = min(turn, table.turn_buckets - 1)
            b = np.searchsorted(table.edges, remaining / units, side="right")
            assert table.cell(turn, remaining) == (t, b.tolist())
            assert np.array_equal(table.lookup(turn, remaining), table.values[np.arange(3), t, b])


@pytest.mark.skipif(not getattr(sys, "_is_gil_enabled", lambda: True)(), reason="no GIL")
def test_a_decision_never_lets_the_gil_go(shipped) -> None:
    """A counting thread waits for the GIL while each decision runs, so it can only count
    if the decision lets the GIL go. Before the rewrite decisions did (in `np.argmax`,
    `np.searchsorted` and the TF-IDF's 546-element loops), and in the busy app each release
    could cost up to 5 ms. No timing is asserted: only whether the other thread ran. Between
    decisions this thread yields, so the counter never has to force a switch (0.5 s interval)
    and a switch it forces cannot pass for a release. Half the decisions carry a person's
    weights and rating offsets."""
    policy, obs = shipped
    mask = np.ones(policy.space.n, dtype=bool)
    observations = [o.astype(np.float32) for o in obs[:100]]
    offsets = np.linspace(-0.1, 0.1, policy.space.n)
    steering = [None, Preferences(RewardWeights(quality=2.0, cost=1.0), offsets)]
    count, stop = [0], threading.Event()

    def counter() -> None:
        while not stop.is_set():
            count[0] += 1
            time.sleep(0)  # hand the GIL back at once

    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.5)
    thread = threading.Thread(target=counter, daemon=True)
    released = []
    try:
        thread.start()
        for _ in range(5):  # a release is caught only when the counter wins the race for it
            for i, observation in enumerate(observations):
                time.sleep(0)  # let the counter run now, not during the decision
                before = count[0]
                policy.decide_with(observation, mask.copy(), steering[i % 2])
                if count[0] != before:
                    released.append(i)
    finally:
        stop.set()
        sys.setswitchinterval(interval)
        thread.join()
    assert released == [], f"decisions {released[:5]} let the GIL go"
