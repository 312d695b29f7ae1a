"""A first visit, without a browser: the totals say what always-cloud and always-local would
have spent (and the export has it per turn), the demo budget starts a Space's sessions, and
the examples are the project's own files. The browser plays them in test_first_visit_browser.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.demo import DEMO_LIMIT, EXAMPLES, EXAMPLES_DIR, example_rows, start_limit
from app.session import DEFAULT_LIMIT, Session
from app.ui import ChatUI
from tests.test_app_ui import chat_on_fakes


@pytest.fixture
def ui(tmp_path: Path) -> ChatUI:
    return chat_on_fakes(tmp_path)


def test_totals_and_export_say_what_the_decisions_saved(ui: ChatUI) -> None:
    session = Session(policy_name="rule")
    final = list(ui.respond("one", [], session))[-1]
    list(ui.respond("two", [], session))
    totals = final[4]
    assert "always-cloud would have cost about" in totals and "always-local would have waited" in totals
    # the rule policy answers in the cloud: always-cloud is what it measured; always-local estimated
    turn = session.per_turn[0]
    assert turn["location"] == "cloud" and turn["cloud_measured"] == 1.0
    assert turn["cloud_usd"] == turn["cost_usd"] and turn["local_measured"] == 0.0
    assert turn["local_latency_s"] > 0 and turn["local_energy_j"] > 0
    rows = [json.loads(x) for x in Path(ui.export("JSONL", session)).read_text().splitlines()]
    assert [r["decision"]["alternatives"]["local_latency_s"] for r in rows] == \
        [t["local_latency_s"] for t in session.per_turn]


def test_the_demo_budget_is_a_spaces_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.delenv("LCIO_DEMO_BUDGET", raising=False)
    assert start_limit() == DEFAULT_LIMIT
    monkeypatch.setenv("SPACE_ID", "someone/lcio")
    assert start_limit() == DEMO_LIMIT
    monkeypatch.setenv("LCIO_DEMO_BUDGET", "0")  # configured: the Space keeps the defaults
    assert start_limit() == DEFAULT_LIMIT
    monkeypatch.delenv("SPACE_ID")
    monkeypatch.setenv("LCIO_DEMO_BUDGET", "1")
    assert start_limit() == DEMO_LIMIT


def test_examples_are_the_projects_own_small_files() -> None:
    rows = example_rows()
    assert len(rows) == len(EXAMPLES) >= 4
    files = [Path(f) for row in rows for f in row[0]["files"]]
    assert files and all(f.parent == EXAMPLES_DIR and f.exists() for f in files)
    assert sum(f.stat().st_size for f in set(files)) < 300_000
    assert {f.suffix for f in files} >= {".jpg", ".wav"}
    assert [row[1] for row in rows].count("local") == 1  # one turn kept here by the person
