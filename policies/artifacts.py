"""Where the shipped policies and data sets are, and loading a trained policy from its file.

Two artifacts ship in assets/policy/: `rcrl.json` (M4A1, the paper's protocol, 9 actions,
`policies.m4a1.features` observation) and `rcrl-bench.json` (LCIO-Bench, 16 actions with local
attachment subsets, `policies.bench.observation`). The app decides with the bench one.
"""

from __future__ import annotations

from pathlib import Path

from policies.base import Policy
from policies.bench.planner import BenchPlanner, is_bench_policy_file
from policies.m4a1.planner import LookaheadPlanner

ASSETS = Path(__file__).resolve().parent.parent / "assets"
M4A1_POLICY_PATH = ASSETS / "policy" / "rcrl.json"
APP_POLICY_PATH = ASSETS / "policy" / "rcrl-bench.json"
BENCH_PATH = ASSETS / "bench" / "lcio-bench-v2.jsonl"
DEFAULT_DATASET = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "m4a1" / "M4A1.json"


def load_policy(path: str | Path) -> Policy:
    """Load a trained LCIO planner artifact (M4A1 or bench, told apart by its content)."""
    return BenchPlanner.load(path) if is_bench_policy_file(path) else LookaheadPlanner.load(path)


def load_app_policy(path: str | Path | None = None) -> Policy:
    """The policy the app decides with: the bench-trained planner (`rcrl-bench.json`, see its
    "command" field to reproduce it); the M4A1 one only if the bench artifact is missing."""
    if path is None:
        path = APP_POLICY_PATH if APP_POLICY_PATH.exists() else M4A1_POLICY_PATH
    return load_policy(path)
