"""The policy contract (policies/base.py) and the one roster (policies/roster.py): what the app
and every evaluator rely on."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from policies import roster
from policies.base import ActionSpace, Decision, Policy, RatingLearner, TurnContext
from policies.roster import Kit

CONTEXT = TurnContext(prompt="What is in this picture?", kinds=("image",), turn_index=1,
                      past_actions=(0,), past_prompts=("hello",),
                      remaining={"latency_s": 20.0, "usd": 0.0004, "energy_j": 80.0},
                      limits={"latency_s": 30.0, "usd": 0.0006, "energy_j": 120.0})
M4A1 = Path(__file__).resolve().parents[2] / "shared" / "data" / "m4a1" / "M4A1.json"


@pytest.fixture(scope="module")
def app_policies() -> dict[str, Policy]:
    from app.runtime import policy_factories

    return {name: make() for name, make in policy_factories().items()}


@pytest.fixture(scope="module")
def bench_kit() -> Kit:
    """A bench kit as an evaluator makes one: the shipped LCIO, fits on a sample of turns."""
    from app.runtime import app_kit
    from policies.artifacts import BENCH_PATH
    from policies.bench.dataset import complete_dialogues
    from policies.bench.prompt_quality import turn_observations

    kit = app_kit()
    lcio = kit.lcio
    kit.outcomes = lcio.outcomes
    kit.training = turn_observations(complete_dialogues(BENCH_PATH)[:30], lcio.classifier)
    return kit


def test_every_roster_entry_builds_a_policy_of_its_family(bench_kit: Kit) -> None:
    import random

    kits = {"bench": bench_kit, "m4a1": Kit("m4a1", ActionSpace(), rng=random.Random(1))}
    for name, entry in roster.ROSTER.items():
        for family in entry.factories:
            policy = roster.build(name, kits[family])
            assert isinstance(policy, Policy) and isinstance(policy.uses_guard, bool), name
            assert policy.space == kits[family].space, (name, family)


def test_app_menu_is_the_rosters_app_entries_lcio_first(app_policies: dict[str, Policy]) -> None:
    assert list(app_policies) == roster.names("bench", "app")
    assert list(app_policies)[0] == "lcio-lookahead"


@pytest.mark.parametrize("name", roster.names("bench", "app"))
def test_app_policies_observe_a_turn_context_and_decide_within_the_mask(
        name: str, app_policies: dict[str, Policy]) -> None:
    policy = app_policies[name]
    obs = policy.observe(CONTEXT)
    assert obs.ndim == 1 and np.all(np.isfinite(obs))
    mask = policy.space.mask_for([True, False, False])
    dec = policy.decide(obs, mask)
    assert isinstance(dec, Decision) and mask[dec.action]
    assert policy.space.actions[dec.action].location == dec.location


def test_baselines_observe_with_the_classifier_they_are_handed(app_policies: dict[str, Policy]) -> None:
    """The contract loads nothing: a baseline's observation is the shipped LCIO's, through the
    observer the app handed it, and a policy built without one says so."""
    assert np.array_equal(app_policies["local-only"].observe(CONTEXT),
                          app_policies["lcio-lookahead"].observe(CONTEXT))
    bare = roster.build("local-only", Kit("bench", app_policies["local-only"].space))
    with pytest.raises(TypeError, match="no observer"):
        bare.observe(CONTEXT)


def test_the_shipped_policy_learns_from_ratings_and_baselines_do_not(
        app_policies: dict[str, Policy]) -> None:
    from policies.base import Preferences

    lcio = app_policies["lcio-lookahead"]
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
    assert not any(isinstance(app_policies[n], RatingLearner) for n in ("local-only", "random"))


def test_a_policy_that_ignores_preferences_still_decides_with_them(app_policies: dict[str, Policy]) -> None:
    from policies.base import Preferences, RewardWeights

    policy = app_policies["local-only"]
    obs = policy.observe(CONTEXT)
    mask = policy.space.mask_for([True, False, False])
    prefs = Preferences(RewardWeights(quality=2.0, cost=0.0), np.ones(policy.space.n))
    assert not policy.steerable
    assert policy.decide_with(obs, mask, prefs).action == policy.decide(obs, mask).action


class Cheapest(Policy):
    """A toy baseline written once for every family: local, with no attachment."""

    name, uses_guard = "cheapest", False

    def __init__(self, kit: Kit) -> None:
        self.space = kit.space

    def decide(self, observation: np.ndarray, mask: np.ndarray) -> Decision:
        return Decision(0, "local", (), 1.0, reason="cheapest")


@pytest.fixture
def cheapest_registered():
    roster.register("cheapest", {"m4a1": Cheapest, "bench": Cheapest}, tags=("app", "baseline"))
    yield
    roster.unregister("cheapest")


@pytest.mark.skipif(not M4A1.is_file(), reason="../shared/data/m4a1/M4A1.json is not beside the repo")
def test_a_new_baseline_is_one_class_and_one_line(cheapest_registered: None, tmp_path: Path) -> None:
    """Registered once, the toy is a row of the M4A1 table, of the LCIO-Bench table, and in the
    app's menu (so a study condition may name it)."""
    from app.runtime import policy_factories
    from lab import evaluate
    from tests.test_bench_policy import write_sample

    m4a1 = evaluate.main(["--dataset", str(M4A1), "--seeds", "1", "--out", str(tmp_path / "m"),
                          "--epochs", "2", "--rl-steps", "0", "--sweep", "1"])
    assert "cheapest" in m4a1["policies"]
    assert m4a1["per_seed"]["cheapest"]["1.0"] == m4a1["per_seed"]["local-only"]["1.0"]
    bench = evaluate.main(["--dataset", str(write_sample(tmp_path / "b.jsonl")), "--seeds", "1",
                           "--epochs", "2", "--a2c-steps", "0", "--sweep", "1", "--out", str(tmp_path / "b")])
    assert "cheapest" in bench["policies"]
    menu = policy_factories()
    assert "cheapest" in menu and isinstance(menu["cheapest"](), Cheapest)
    assert len(menu["cheapest"]().observe(CONTEXT)) == len(menu["local-only"]().observe(CONTEXT))


def test_a_policy_that_cannot_be_built_is_left_out() -> None:
    from app.runtime import policy_factories

    def broken(kit: Kit) -> Policy:
        raise FileNotFoundError("no artifact")

    roster.register("broken", {"bench": broken}, tags=("app",))
    try:
        factories = policy_factories()
    finally:
        roster.unregister("broken")
    assert "broken" not in factories and "local-only" in factories


def test_no_import_cycle_between_the_evaluators() -> None:
    code = ("import sys, lab.bench_eval, lab.m4a1.runner; "
            "print('lab.evaluate' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
