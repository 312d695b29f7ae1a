"""One roster of policies by name: every evaluator's table, the app's menu and the study's
conditions read it, so a new baseline is one class and one `register(...)` line.

An entry says, per family it plays in, how to build it from a `Kit`, and carries tags:
- families: "m4a1" (the paper's world: 9 actions, local uses no attachment) and "bench"
  (LCIO-Bench and the app: 16 actions, local picks attachments too, read through perception);
- a `Kit` is what the caller has: the family's action space and observer (with the caller's task
  classifier), a seed, LCIO as the caller has it (the shipped artifact in the app, trained per seed
  in an evaluation), and what an evaluator fitted on its training split;
- tags: "app" puts it in the page's menu (and so among the study's conditions; the first is the
  default), "baseline" in the evaluators' tables.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from policies.base import ActionSpace, Observer, Policy
from policies.bench.baselines import BenchCloudOnly, BenchGreedy, BenchLocalOnly, BenchRandom
from policies.bench.dataset import BenchTurn
from policies.bench.outcome import OutcomeModel
from policies.bench.routers import BenchCascade, BenchRouter, WeaknessModel, WinRateModel
from policies.m4a1.baselines import LocalOnly, PaperCloud, PaperRandom, fork

Family = Literal["m4a1", "bench"]
FAMILIES: tuple[Family, ...] = ("m4a1", "bench")


@dataclass
class Kit:
    """What a factory may build a policy from, given by the caller for one family."""

    family: Family
    space: ActionSpace
    observer: Observer | None = None  # the family's observation of a turn
    seed: int = 0
    lcio: Policy | None = None
    rng: random.Random | None = None  # M4A1: the paper's split generator (each draws from a copy)
    outcomes: OutcomeModel | None = None  # bench: the outcome model fitted on the training split
    training: tuple[np.ndarray, list[BenchTurn]] | None = None  # bench: training observations, turns
    _fitted: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, fit: Callable[[], Any]) -> Any:
        """A model fitted once per kit, however often the policies using it are rebuilt."""
        if key not in self._fitted:
            self._fitted[key] = fit()
        return self._fitted[key]

    def copy_of_rng(self) -> random.Random:
        if self.rng is None:
            raise ValueError("this kit has no split generator")
        return fork(self.rng)

    def train_turns(self) -> tuple[np.ndarray, list[BenchTurn]]:
        if self.training is None:
            raise ValueError("this kit has no training split")
        return self.training

    def outcome_model(self) -> OutcomeModel:
        if self.outcomes is None:
            raise ValueError("this kit has no outcome model")
        return self.outcomes


Factory = Callable[[Kit], Policy]


@dataclass(frozen=True)
class Entry:
    factories: Mapping[Family, Factory]
    tags: frozenset[str]


ROSTER: dict[str, Entry] = {}
# Former names that callers (API clients, study configs, stored logs) may still use -> the name now.
ALIASES: dict[str, str] = {"lcio-rcrl": "lcio-lookahead"}


def canonical(name: str) -> str:
    """The roster's name for `name`: itself, or what a former name (`ALIASES`) became."""
    return ALIASES.get(name, name)


def register(name: str, factories: Mapping[Family, Factory], tags: tuple[str, ...] = ()) -> None:
    """Add (or replace) a policy: how to build it in each family it plays in, and its tags."""
    unknown = set(factories) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown families {sorted(unknown)}; known: {FAMILIES}")
    ROSTER[name] = Entry(dict(factories), frozenset(tags))


def unregister(name: str) -> None:
    ROSTER.pop(name, None)


def names(family: Family, tag: str | None = None) -> list[str]:
    """The roster's names for `family` (with `tag`, if given), in the order they were registered."""
    return [n for n, e in ROSTER.items() if family in e.factories and (tag is None or tag in e.tags)]


def build(name: str, kit: Kit) -> Policy:
    """One policy for the kit's family; it observes through the kit's observer unless it has its own."""
    policy = ROSTER[name].factories[kit.family](kit)
    if policy.observer is None and kit.observer is not None and type(policy).observe is Policy.observe:
        policy.observer = kit.observer
    return policy


def build_all(kit: Kit, tag: str | None = None) -> dict[str, Policy]:
    """Every policy of the kit's family (with `tag`), by name, in the roster's order."""
    return {name: build(name, kit) for name in names(kit.family, tag)}


def _lcio(kit: Kit) -> Policy:
    if kit.lcio is None:
        raise ValueError("no LCIO policy in this kit")
    return kit.lcio


def _router(kit: Kit) -> Policy:
    return BenchRouter(kit.once("router", lambda: WinRateModel.fit(*kit.train_turns())))


def _cascade(kit: Kit) -> Policy:
    return BenchCascade(kit.once("cascade", lambda: WeaknessModel.fit(kit.train_turns()[1])))


# The app's menu lists "app" entries in this order (LCIO first: the default).
register("lcio-lookahead", {"bench": _lcio}, tags=("app",))
register("local-only", {"m4a1": lambda kit: LocalOnly(kit.space),
                        "bench": lambda kit: BenchLocalOnly(kit.space)}, tags=("app", "baseline"))
register("cloud-only", {"bench": lambda kit: BenchCloudOnly(kit.space)}, tags=("app", "baseline"))
register("cloud (random subsets)", {"m4a1": lambda kit: PaperCloud(kit.copy_of_rng(), kit.space.n)},
         tags=("baseline",))
register("random", {"m4a1": lambda kit: PaperRandom(kit.copy_of_rng(), kit.space.n),
                    "bench": lambda kit: BenchRandom(kit.space, seed=kit.seed)}, tags=("app", "baseline"))
register("greedy", {"bench": lambda kit: BenchGreedy(kit.outcome_model(), space=kit.space)},
         tags=("baseline",))
register(BenchRouter.name, {"bench": _router}, tags=("baseline",))
register(BenchCascade.name, {"bench": _cascade}, tags=("baseline",))
