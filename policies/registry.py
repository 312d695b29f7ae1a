"""Policies by name (the one registry), and loading the shipped policy for the app.

`APP_POLICIES` is what the app's settings panel offers: a name and something that builds the
policy with no arguments (a `Policy` subclass whose defaults fit the app's 16-action space,
or a loader). Adding a baseline to the app is one class and one line here. `POLICIES` names
the classes of both evaluations (M4A1 and LCIO-Bench).

Two artifacts ship in assets/policy/: `rcrl.json` (M4A1, the paper's protocol, 9 actions,
`policies.m4a1.features` observation) and `rcrl-bench.json` (LCIO-Bench, 16 actions with local
attachment subsets, `policies.bench_policy` observation). The app decides with the bench one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from policies.base import Policy
from policies.bench.recipes import BenchRCPPO
from policies.bench.routers import BenchCascade, BenchRouter
from policies.bench_policy import (
    BenchCloudOnly,
    BenchGreedy,
    BenchLocalOnly,
    BenchRandom,
    BenchRCA2C,
    BenchRCRLPolicy,
)
from policies.m4a1.baselines import RCA2C, CloudOnly, GreedyOneStep, LocalOnly, RandomPolicy
from policies.m4a1.rcrl import RCRLPolicy

POLICIES: dict[str, type[Policy]] = {
    "local-only": LocalOnly, "cloud-only": CloudOnly, "random": RandomPolicy,
    "greedy": GreedyOneStep, "rc-a2c (paper)": RCA2C, "lcio-rcrl": RCRLPolicy,
    "bench local-only": BenchLocalOnly, "bench cloud-only": BenchCloudOnly,
    "bench random": BenchRandom, "bench lcio-rcrl": BenchRCRLPolicy,
    "bench greedy": BenchGreedy,
    "bench rc-a2c (paper)": BenchRCA2C,
    "bench rc-ppo (paper)": BenchRCPPO,
    "bench router (RouteLLM-style)": BenchRouter,
    "bench cascade (local, then cloud)": BenchCascade,
}
ASSETS = Path(__file__).resolve().parent.parent / "assets"
M4A1_POLICY_PATH = ASSETS / "policy" / "rcrl.json"
APP_POLICY_PATH = ASSETS / "policy" / "rcrl-bench.json"
BENCH_PATH = ASSETS / "bench" / "lcio-bench-v2.jsonl"
DEFAULT_DATASET = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "m4a1" / "M4A1.json"


def load_policy(path: str | Path) -> Policy:
    """Load a trained RCRL artifact (M4A1 or bench, told apart by its content)."""
    from policies.bench_policy import is_bench_policy_file

    return BenchRCRLPolicy.load(path) if is_bench_policy_file(path) else RCRLPolicy.load(path)


def load_app_policy(path: str | Path | None = None) -> Policy:
    """The policy the app decides with: the bench-trained RCRL (`rcrl-bench.json`, see its
    "command" field to reproduce it); the M4A1 one only if the bench artifact is missing."""
    if path is None:
        path = APP_POLICY_PATH if APP_POLICY_PATH.exists() else M4A1_POLICY_PATH
    return load_policy(path)


APP_POLICIES: dict[str, Callable[[], Policy]] = {
    "lcio-rcrl": load_app_policy,  # LCIO's RCRL first: the default
    "local-only": BenchLocalOnly,  # local, every attachment
    "cloud-only": BenchCloudOnly,  # cloud, every attachment
    "random": BenchRandom,
}
