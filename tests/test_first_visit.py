"""A first visit, without a browser: the totals say what always-cloud and always-local would
have spent (and the export has it per turn), the demo budget starts a Space's sessions, and
the examples are the project's own files. The browser plays them in test_first_visit_browser.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.demo import DEMO_LIMIT, EXAMPLES, EXAMPLES_DIR, example_rows, start_limit
from app.guard import FLOOR_TOKENS, SpeedModel, worst_case
from app.intake import read_input
from app.session import DEFAULT_LIMIT, Session
from app.ui import ChatUI
from backends import units
from backends.config import STANDIN_MODEL, Settings
from backends.pricing import load_prices
from backends.types import Message
from policies.base import Action
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
    assert {f.suffix for f in files} >= {".jpg", ".wav", ".ogg"}
    assert [row[1] for row in rows].count("local") == 1  # one turn kept here by the person


def _cloud_worst_usd(example: int, settings: Settings, new_tokens: int) -> float:
    """The guard's worst-case dollars of example `example` in the stand-in's cloud, sending its
    voice note and no picture, as the session's first turn (the shortest history)."""
    text, files, _ = EXAMPLES[example]
    found, problem = read_input(text, [str(EXAMPLES_DIR / f) for f in files], settings)
    assert not problem, problem
    prices = load_prices(settings.price_table)
    history = [Message("system", settings.system_prompt)] if settings.system_prompt else []
    pictures, voice = [a for a in found if a.kind != "audio"], [a for a in found if a.kind == "audio"]
    return worst_case(Action("cloud", ()), pictures, voice, text, history, settings, SpeedModel(),
                      lambda p, n, a, i: prices.worst_case_cost(STANDIN_MODEL, p, n, a, i),
                      new_tokens).usd


def test_the_demo_dollars_bind_whatever_the_answers() -> None:
    """Why the demo budget binds on any machine (app/demo.py): the first example's worst case
    fits it, so the guard lets the cloud take it; its audio alone is billed at least half of
    it; and what that bill leaves cannot pay even a 16-token answer to the second example's
    voice note (a longer history only adds to that), so the cloud is ruled out there."""
    settings = Settings()
    voice = [a for a in read_input("", [str(EXAMPLES_DIR / EXAMPLES[0][1][0])], settings)[0]]
    prices = load_prices(settings.price_table)
    audio = units.audio_tokens(voice[0].duration_s)
    billed = prices.cost(STANDIN_MODEL, {"prompt_tokens": audio,
                                         "prompt_tokens_details": {"audio_tokens": audio}})
    assert _cloud_worst_usd(0, settings, settings.max_new_tokens) <= DEMO_LIMIT.usd
    assert billed >= 0.5 * DEMO_LIMIT.usd, (billed, DEMO_LIMIT.usd)
    assert DEMO_LIMIT.usd - billed < _cloud_worst_usd(1, settings, FLOOR_TOKENS)
    assert EXAMPLES[1][2] == "auto" and any(f.endswith(".wav") for f in EXAMPLES[1][1])
