"""The hindsight-optimisation experiment (`lab.m4a1.hindsight`): given the one true future,
it must replay the exhaustive hindsight plan on LCIO's own model, within budget."""

import pytest

from lab.m4a1.hindsight import HindsightPolicy
from lab.m4a1.oracle import best_sequence
from lab.m4a1.protocol import PaperEvaluator
from lab.m4a1.training import train_planner
from policies.m4a1.planner import LookaheadConfig
from tests.policy_fixtures import synthetic_dialogues


@pytest.mark.parametrize("budgets", [{"latency_s": 30.0, "usd": 0.05}, {"latency_s": 9.0, "usd": 0.012}])
def test_with_the_true_future_it_is_the_hindsight_plan(budgets):
    dialogues = synthetic_dialogues(30, seed=8, present_all=False)
    lcio = train_planner(dialogues, LookaheadConfig())
    budgets = {**budgets, "energy_j": float("inf")}
    ev = PaperEvaluator(dialogues, lcio.quality)  # judged by LCIO's own model, as it plans
    checked = 0
    for d in dialogues[:12]:
        plan, total = best_sequence(d, lcio.quality.predict, ev.action_costs, ev.norm_costs, budgets,
                                    ev.weights, ev.space)
        ep = ev.play(HindsightPolicy(lcio, [d]), d, budgets)
        assert sum(ep.rewards) == pytest.approx(total, abs=1e-9)
        assert all(ep.spent[r] <= budgets[r] + 1e-9 for r in ("latency_s", "usd"))
        checked += ep.actions == plan
    assert checked >= 10  # equal-reward plans may differ; most must be the same sequence
