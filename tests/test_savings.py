"""What the decisions saved (app/savings.py): which action stands for always-cloud and
always-local on a turn, measured cost where the turn took it, and the session's sums."""

from __future__ import annotations

import pytest

from app.savings import alternatives, savings_markdown, session_savings, turn_columns
from app.session import Cost
from policies.base import Action

ACTIONS = [Action("local", ()), Action("local", (0,)), Action("cloud", ()), Action("cloud", (0,))]
PREDICTED = [Cost(latency_s=4.0, energy_j=40.0), Cost(latency_s=9.0, energy_j=90.0),
             Cost(latency_s=2.0, usd=0.001), Cost(latency_s=3.0, usd=0.004)]


def test_a_baseline_sends_every_attachment_that_is_there() -> None:
    alts = alternatives(ACTIONS, PREDICTED, [True, True, True, True])
    assert alts == {"local": (1, PREDICTED[1]), "cloud": (3, PREDICTED[3])}
    # no file: the text-only actions; the cloud refusing the file: no cloud baseline at all
    assert alternatives(ACTIONS, PREDICTED, [True, False, True, False])["cloud"] == (2, PREDICTED[2])
    assert "cloud" not in alternatives(ACTIONS, PREDICTED, [True, True, False, False])


def test_the_action_taken_counts_at_its_measured_cost() -> None:
    alts = alternatives(ACTIONS, PREDICTED, [True] * 4)
    actual = Cost(latency_s=2.5, usd=0.003)
    cols = turn_columns(alts, taken=3, actual=actual)
    assert cols["cloud_usd"] == 0.003 and cols["cloud_latency_s"] == 2.5 and cols["cloud_measured"] == 1.0
    assert cols["local_latency_s"] == 9.0 and cols["local_energy_j"] == 90.0 and cols["local_measured"] == 0.0
    # another cloud action taken (the file left out): the cloud baseline is still the estimate
    assert turn_columns(alts, taken=2, actual=actual)["cloud_usd"] == 0.004


def test_a_session_sums_its_turns_and_says_so() -> None:
    alts = alternatives(ACTIONS, PREDICTED, [True] * 4)
    turns = [{"turn": 1, "location": "local", "cost_usd": 0.0, "latency_s": 8.0, "energy_j": 80.0,
              **turn_columns(alts, 1, Cost(latency_s=8.0, energy_j=80.0))},
             {"turn": 2, "location": "cloud", "cost_usd": 0.001, "latency_s": 2.0, "energy_j": 0.0,
              **turn_columns(alts, 2, Cost(latency_s=2.0, usd=0.001))},
             {"turn": 3, "location": "local", "cost_usd": 0.0, "latency_s": 1.0, "energy_j": 10.0}]
    s = session_savings(turns)
    assert s.spent.usd == pytest.approx(0.001) and s.spent.latency_s == pytest.approx(11.0)
    assert s.baseline["cloud"].usd == pytest.approx(0.008)  # two estimates of $0.004
    assert s.baseline["local"].latency_s == pytest.approx(17.0)  # measured 8 + estimated 9
    assert s.missing == {"cloud": 1, "local": 1}
    line = savings_markdown(turns)
    assert "always-cloud would have cost about **$0.0080** and waited about **6 s**" in line
    assert "always-local would have waited about **17 s** and used about **170 J**" in line
    assert "1 turn(s) always-cloud could not have answered" in line
    assert savings_markdown([]) == ""
