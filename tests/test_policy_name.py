"""LCIO's policy is named what it is (issue 24, item 4): a budget-guarded look-ahead planner,
`lcio-lookahead`. No page or API text calls it RCRL or shows multipliers, and its former id
still picks it (the API, study configs and old logs may use it)."""

from __future__ import annotations

import re
from pathlib import Path

from app.explain import details_body
from app.study.config import ConditionSpec
from app.turn import TurnRecord
from policies import roster
from policies.base import Decision
from tests.test_app_engine import FakeBackend, RulePolicy

ROOT = Path(__file__).resolve().parents[1]


def test_no_app_source_and_no_roster_name_says_rcrl() -> None:
    """The page, the API and the exports are built from app/ and the roster's names."""
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in sorted((ROOT / "app").rglob("*.py"))
            for i, line in enumerate(p.read_text().splitlines(), 1) if re.search("rcrl", line, re.I)]
    assert hits == []
    assert not [n for n in roster.ROSTER if "rcrl" in n.lower()]
    assert roster.names("bench", "app")[0] == "lcio-lookahead", "LCIO stays the page's default"


def test_the_details_panel_shows_no_multipliers() -> None:
    record = TurnRecord("s", 0, "hi", policy="lcio-lookahead")
    record.decision = Decision(1, "cloud", (), 0.9, {"quality": [0.2, 0.7]},
                               {"latency_s": 0.123, "usd": 4.567}, "cloud with 0 attachment(s)")
    body = details_body(record)
    assert "lcio-lookahead" in body
    assert not re.search("multiplier|lagrange|rcrl|4.567", body, re.I)


def test_the_former_id_picks_the_lookahead_planner(tmp_path: Path) -> None:
    from app.runtime import Runtime
    from backends.config import Settings

    assert roster.canonical("lcio-rcrl") == "lcio-lookahead"
    assert roster.canonical("cloud-only") == "cloud-only"
    assert ConditionSpec(name="lcio", policy="lcio-rcrl").policy == "lcio-lookahead"
    runtime = Runtime(Settings(openai_api_key="k-123456"), log_path=tmp_path / "log.sqlite",
                      policies={"lcio-lookahead": RulePolicy, "other": RulePolicy},
                      backends={"local": FakeBackend("local", ["hi"]), "cloud": FakeBackend("cloud", ["yo"])})
    assert runtime.policy("lcio-rcrl") is runtime.policy("lcio-lookahead")
    assert runtime.policy("lcio-rcrl") is not runtime.policy("other")
    assert runtime.learner.book("lcio-rcrl") is runtime.learner.book("lcio-lookahead")
