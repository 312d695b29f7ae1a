"""Policies by name, and loading the shipped policy for the app."""

from __future__ import annotations

from pathlib import Path

from policies.base import Policy
from policies.baselines import RCA2C, CloudOnly, GreedyOneStep, LocalOnly, RandomPolicy
from policies.rcrl import RCRLPolicy

POLICIES: dict[str, type[Policy]] = {
    "local-only": LocalOnly, "cloud-only": CloudOnly, "random": RandomPolicy,
    "greedy": GreedyOneStep, "rc-a2c (paper)": RCA2C, "lcio-rcrl": RCRLPolicy,
}
APP_POLICY_PATH = Path(__file__).resolve().parent.parent / "assets" / "policy" / "rcrl.json"
DEFAULT_DATASET = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "m4a1" / "M4A1.json"


def load_policy(path: str | Path) -> RCRLPolicy:
    """Load a trained RCRL artifact (the JSON written by `python -m policies.train`)."""
    return RCRLPolicy.load(path)


def load_app_policy(path: str | Path | None = None) -> RCRLPolicy:
    """The policy shipped in assets/policy/ (see its "command" field to reproduce it)."""
    return RCRLPolicy.load(path or APP_POLICY_PATH)
