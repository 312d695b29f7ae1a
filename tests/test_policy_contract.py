"""The policy contract (policies/base.py) and the one registry: what the app relies on."""

import subprocess
import sys

import numpy as np
import pytest

from policies.base import ActionSpace, Decision, Policy, RatingLearner, TurnContext
from policies.registry import APP_POLICIES, POLICIES

CONTEXT = TurnContext(prompt="What is in this picture?", kinds=("image",), turn_index=1,
                      past_actions=(0,), past_prompts=("hello",),
                      remaining={"latency_s": 20.0, "usd": 0.0004, "energy_j": 80.0},
                      limits={"latency_s": 30.0, "usd": 0.0006, "energy_j": 120.0})


def test_every_registered_policy_is_a_policy_with_the_contracts_attributes() -> None:
    for name, cls in POLICIES.items():
        assert issubclass(cls, Policy), name
        assert isinstance(cls.uses_guard, bool) and isinstance(cls.space, ActionSpace), name


@pytest.mark.parametrize("name", list(APP_POLICIES))
def test_app_policies_observe_a_turn_context_and_decide_within_the_mask(name: str) -> None:
    policy = APP_POLICIES[name]()
    obs = policy.observe(CONTEXT)
    assert obs.ndim == 1 and np.all(np.isfinite(obs))
    mask = policy.space.mask_for([True, False, False])
    dec = policy.decide(obs, mask)
    assert isinstance(dec, Decision) and mask[dec.action]
    assert policy.space.actions[dec.action].location == dec.location


def test_the_shipped_policy_learns_from_ratings_and_baselines_do_not() -> None:
    from policies.base import Preferences

    lcio = APP_POLICIES["lcio-rcrl"]()
    assert isinstance(lcio, RatingLearner) and lcio.steerable
    obs = lcio.observe(CONTEXT)
    mask = lcio.space.mask_for([True, False, False])
    before = float(lcio.estimates(obs)["quality"][3])
    plain = lcio.decide(obs, mask)
    assert lcio.decide_with(obs, mask, Preferences()).action == plain.action, "defaults: as trained"
    taught = np.zeros(lcio.space.n)
    taught[3] = 0.5
    dec = lcio.decide_with(obs, mask, Preferences(quality_offsets=taught))
    assert dec.estimates["quality"][3] == pytest.approx(before + 0.5)
    assert float(lcio.estimates(obs)["quality"][3]) == before, "the shared object is not changed"
    assert not any(isinstance(APP_POLICIES[n](), RatingLearner) for n in ("local-only", "random"))


def test_a_policy_that_ignores_preferences_still_decides_with_them() -> None:
    from policies.base import Preferences, RewardWeights

    policy = APP_POLICIES["local-only"]()
    obs = policy.observe(CONTEXT)
    mask = policy.space.mask_for([True, False, False])
    prefs = Preferences(RewardWeights(quality=2.0, cost=0.0), np.ones(policy.space.n))
    assert not policy.steerable
    assert policy.decide_with(obs, mask, prefs).action == policy.decide(obs, mask).action


def test_a_new_baseline_is_one_class_and_one_registry_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.engine import policy_space
    from app.runtime import policy_factories
    from policies import registry

    class Cheapest(Policy):
        name, space = "cheapest", ActionSpace(slots=3, local_subsets=True)

        def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
            return Decision(0, "local", (), 1.0)

    monkeypatch.setitem(registry.APP_POLICIES, "cheapest", Cheapest)
    factories = policy_factories()
    policy = factories["cheapest"]()
    assert isinstance(policy, Cheapest) and policy_space(policy) is Cheapest.space
    assert len(policy.observe(CONTEXT)) == len(APP_POLICIES["local-only"]().observe(CONTEXT))


def test_a_policy_that_cannot_be_built_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.runtime import policy_factories
    from policies import registry

    def broken() -> Policy:
        raise FileNotFoundError("no artifact")

    monkeypatch.setitem(registry.APP_POLICIES, "broken", broken)
    assert "broken" not in policy_factories() and "local-only" in policy_factories()


def test_no_import_cycle_between_the_evaluators() -> None:
    code = ("import sys, lab.bench_eval, lab.m4a1.runner; "
            "print('lab.evaluate' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
