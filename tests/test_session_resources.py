"""The app's budgets use the policies' one resource type and order (issue 11), while what
people and the log read keeps its order: dollars, waiting time, energy."""

from __future__ import annotations

from dataclasses import fields

import pytest

from app.observe import session_budgets
from app.session import RESOURCE_LABELS, RESOURCES, BudgetLedger, Cost, Session
from policies.profiles import RESOURCES as POLICY_RESOURCES


def test_one_resource_order_shared_with_the_policies() -> None:
    assert RESOURCES is POLICY_RESOURCES
    assert {f.name for f in fields(Cost)} == set(RESOURCES) == set(RESOURCE_LABELS)
    cost = Cost(usd=1.0, latency_s=2.0, energy_j=3.0)
    assert list(cost.as_dict().items()) == [(r, getattr(cost, r)) for r in RESOURCES]


def test_policies_get_budgets_in_their_order() -> None:
    ledger = BudgetLedger(limit=Cost(usd=0.1, latency_s=10.0, energy_j=100.0))
    ledger.charge_cost(Cost(usd=0.04, latency_s=1.0, energy_j=30.0))
    ledger.reserve(Cost(usd=0.01, latency_s=2.0, energy_j=0.0))
    remaining, limits = session_budgets(Session(ledger=ledger))
    assert list(remaining) == list(limits) == list(RESOURCES)
    assert remaining == pytest.approx({"latency_s": 7.0, "usd": 0.05, "energy_j": 70.0})
    ledger.release(Cost(usd=0.01, latency_s=2.0, energy_j=0.0))
    assert ledger.reserved == Cost()
    assert ledger.remaining.as_dict() == pytest.approx({"latency_s": 9.0, "usd": 0.06, "energy_j": 70.0})


def test_people_and_the_log_read_dollars_first() -> None:
    ledger = BudgetLedger(limit=Cost(usd=0.01, latency_s=1.0, energy_j=100.0))
    fits, why = ledger.can_afford(Cost(usd=1.0, latency_s=5.0))  # overruns two budgets
    assert not fits and why.startswith("Cloud dollars")
    assert list(ledger.remaining_fractions()) == ["usd", "latency_s", "energy_j"]
    ledger.charge_cost(Cost(usd=1.0, latency_s=5.0, energy_j=200.0))
    assert ledger.overspent() == ["usd", "latency_s", "energy_j"]


def test_a_cost_is_in_the_one_order_and_always_named() -> None:
    """Cost's fields are `RESOURCES` in order, and positional construction is refused, so no
    caller can put dollars where seconds belong; arrays round-trip in that order."""
    assert tuple(f.name for f in fields(Cost)) == RESOURCES
    with pytest.raises(TypeError):
        Cost(1.0, 2.0, 3.0)  # type: ignore[misc]
    cost = Cost(usd=1.0, latency_s=2.0, energy_j=3.0)
    assert list(cost.as_array()) == [2.0, 1.0, 3.0] and Cost.from_array(cost.as_array()) == cost
