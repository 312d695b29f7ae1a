"""The chat page's decision panels, why-sentences, budget projection and overrule, without a
browser (fake backends and a rule policy, unit scope; the real ones run in
test_browser_page.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.charts import budget_gauges, budget_warnings, projection
from app.engine import Overrule
from app.explain import why_sentence
from app.session import BudgetLedger, Cost, Session
from app.ui import ChatUI, overrule_of
from policies.base import Decision
from tests.test_app_engine import RulePolicy
from tests.test_app_ui import chat_on_fakes


@pytest.fixture
def page(tmp_path: Path) -> ChatUI:
    return chat_on_fakes(tmp_path, learn_from_overrules=True)


@pytest.fixture
def image(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "cat.png"
    Image.new("RGB", (4, 4), "red").save(path)
    return path


def _panels(history: list[dict]) -> list[dict]:
    return [m for m in history if m.get("metadata", {}).get("title")
            and not m["metadata"].get("parent_id")]


def test_three_turns_three_panels_with_location_and_cost(page: ChatUI) -> None:
    session = Session(policy_name="rule")
    history: list[dict] = []
    for prompt in ("one", "two", "three"):
        history = list(page.respond(prompt, history, session))[-1][0]
    panels = _panels(history)
    rows = page.engine.store.rows(session.id)
    assert len(panels) == 3 and len(rows) == 3
    for panel, row in zip(panels, rows, strict=True):
        title = panel["metadata"]["title"]
        assert title.startswith("☁ cloud") and f"${row['cost_usd']:.4f}" in title, title
        assert panel["metadata"]["status"] == "done" and "Cloud" in panel["content"]
    # every panel, its details and its answer map to the turn for thumbs
    assert sorted(set(session.message_turn.values())) == sorted(session.turn_ids)
    # the answer follows its panel
    assert history[-1] == {"role": "assistant", "content": "cloud says hi"}


def test_overrule_to_local_is_answered_locally_and_logged(page: ChatUI) -> None:
    session = Session(policy_name="rule")
    history = list(page.respond("hello", [], session, "local", None, None))[-1][0]
    assert history[-1]["content"] == "hi there"
    row = page.engine.store.rows(session.id)[-1]
    over = json.loads(row["decision"])["overruled"]
    assert over["policy_location"] == "cloud" and over["forced"] == "local" and over["applied"]
    assert row["location"] == "local" and row["cost_usd"] == 0.0 and row["energy_j"] == 2.0
    assert "(your choice)" in _panels(history)[-1]["metadata"]["title"]
    assert "because you chose it" in _panels(history)[-1]["content"]
    # and it taught the policy like a thumbs up for the forced action
    assert page.policy.updates[-1][1] == row["action"] and page.policy.updates[-1][2] == 2.0


def test_overrule_to_cloud_without_budget_keeps_the_guard(page: ChatUI) -> None:
    session = Session(policy_name="rule", ledger=BudgetLedger(limit=Cost(usd=0.0, latency_s=300,
                                                                         energy_j=3000)))
    taught = len(page.policy.updates)
    list(page.engine.run(session, "hi", overrule=Overrule("cloud")))
    row = page.engine.store.rows(session.id)[-1]
    over = json.loads(row["decision"])["overruled"]
    assert row["location"] == "local" and not over["applied"]
    assert session.ledger.spent.usd == 0.0
    assert len(page.policy.updates) == taught  # a refused wish teaches nothing


def test_an_overruled_turn_teaches_once_even_when_rated_too(page: ChatUI) -> None:
    session = Session(policy_name="rule")
    taught = len(page.policy.updates)
    list(page.respond("hello", [], session, "local", None, None))
    assert len(page.policy.updates) == taught + 1
    page.rate_last("5", session)  # the same turn, rated afterwards: stored, not taught again
    assert len(page.policy.updates) == taught + 1


def test_unticked_attachment_is_not_sent(page: ChatUI, image: Path) -> None:
    session = Session(policy_name="rule")
    files = [str(image)]
    over = overrule_of("auto", [], ["1. cat.png"], files)
    assert over == Overrule(None, frozenset({str(image)}))
    rec = list(page.engine.run(session, "what is it?", files, overrule=over))[-1].record
    assert rec.used == [] and rec.left_out[0][1] == "you chose not to send it"
    assert json.loads(page.engine.store.rows(session.id)[-1]["decision"])["overruled"]["dropped"] == [
        "cat.png"]
    # untouched: no overrule at all; a file not yet offered counts as ticked
    assert overrule_of("auto", None, None, files) is None
    assert overrule_of("auto", [], [], files) is None


def test_two_uploads_of_one_name_are_unticked_separately(page: ChatUI, tmp_path: Path,
                                                         image: Path) -> None:
    copies = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        copies.append(tmp_path / folder / "image.png")
        copies[-1].write_bytes(image.read_bytes())
    files = [str(p) for p in copies]
    _, offered, kept = ChatUI.offer({"text": "a", "files": files}, [])
    assert offered == kept == ["1. image.png", "2. image.png"]
    over = overrule_of("auto", ["1. image.png"], offered, files)
    assert over is not None and over.drop == frozenset({files[1]})
    session = Session(policy_name="rule")
    rec = list(page.engine.run(session, "what is it?", files, overrule=over))[-1].record
    assert [str(a.path) for a in rec.used] == [files[0]]


def test_offer_keeps_unticks_while_typing(image: Path) -> None:
    keep, offered, kept = ChatUI.offer({"text": "a", "files": [str(image)]}, [])
    assert offered == kept == ["1. cat.png"]
    skip = __import__("gradio").skip()
    assert ChatUI.offer({"text": "ab", "files": [str(image)]}, offered) == (skip, skip, skip)


def test_a_turn_never_reads_the_checkboxes_themselves(page: ChatUI) -> None:
    """Sent right after a turn with files, the page may still hold the old ticks while the
    server lists the new files; a turn that took the checkboxes as input was then refused by
    Gradio ("not in the list of choices") and never ran. It reads a State instead."""
    import gradio as gr

    demo = page.build()
    respond = next(d for d in demo.fns.values() if d.api_name == "respond")
    assert respond.inputs and not any(isinstance(c, gr.CheckboxGroup) for c in respond.inputs)
    ticks = next(d for d in demo.fns.values()
                 if any(isinstance(c, gr.CheckboxGroup) for c in d.inputs))
    assert any(isinstance(c, gr.State) for c in ticks.outputs)  # unticking reaches the State


def test_budget_projection_and_warning() -> None:
    ledger = BudgetLedger(limit=Cost(usd=0.01, latency_s=300, energy_j=3000),
                          spent=Cost(usd=0.007, latency_s=10, energy_j=0))
    per_turn = [{"turn": 1, "location": "cloud", "cost_usd": 0.0035, "latency_s": 5.0, "energy_j": 0},
                {"turn": 2, "location": "cloud", "cost_usd": 0.0035, "latency_s": 5.0, "energy_j": 0}]
    assert projection("usd", ledger.remaining.usd, per_turn) == 0
    html = budget_gauges(ledger, per_turn)
    assert "spent $0.0070" in html and "left $0.0030" in html
    assert "answers now stay local" in html
    ledger = BudgetLedger(limit=Cost(usd=0.05, latency_s=300, energy_j=3000),
                          spent=Cost(usd=0.007, latency_s=10, energy_j=0))
    assert "about 12 more cloud turns" in budget_gauges(ledger, per_turn)
    assert budget_warnings(ledger, per_turn) == []
    ledger = BudgetLedger(limit=Cost(usd=0.05, latency_s=300, energy_j=3000),
                          spent=Cost(usd=0.043, latency_s=10, energy_j=0))
    assert "after about 2 more cloud turns" in budget_warnings(ledger, per_turn)[0]
    # the guard's worst case can end the cloud before the pace does
    ledger = BudgetLedger(limit=Cost(usd=0.05, latency_s=300, energy_j=3000),
                          spent=Cost(usd=0.045, latency_s=10, energy_j=0))
    cheap = [{"turn": 1, "location": "cloud", "cost_usd": 0.00001, "latency_s": 5.0, "energy_j": 0}]
    assert budget_warnings(ledger, cheap) == []
    assert "after about 1 more cloud turn," in budget_warnings(ledger, cheap, cloud_worst_usd=0.004)[0]


def test_why_sentence_uses_the_estimates(page: ChatUI) -> None:
    policy = RulePolicy()
    session = Session(policy_name="rule")
    rec = list(page.engine.run(session, "read the receipt"))[-1].record
    n = policy.space.n
    quality = [0.5] * n
    quality[rec.decision.action], quality[0] = 0.8, 0.6  # cloud 0.8, local 0.6
    rec.decision = Decision(rec.decision.action, "cloud", (), 0.46, {"quality": quality},
                            {"usd": 0.3}, "x")
    text = why_sentence(rec, session, policy.space.actions)
    assert text.startswith("Cloud, because") and "~0.20 lower" in text and "$0.0010" in text
    assert "0.3" not in text, "multipliers stay out of the main text"
    quality[0] = 0.79
    rec.decision.estimates = {"quality": quality}
    assert "about the same" in why_sentence(rec, session, policy.space.actions)


def test_file_names_in_panels_are_escaped(page: ChatUI, tmp_path: Path) -> None:
    from PIL import Image

    evil = tmp_path / "<img src=x onerror=alert(1)>.png"
    Image.new("RGB", (4, 4)).save(evil)
    history = list(page.respond({"text": "hi", "files": [str(evil)]}, [], Session(policy_name="rule")))
    body = _panels(history[-1][0])[-1]["content"]
    assert "<img" not in body and "&lt;img" in body
    assert np.all([("<img src=x" not in h[2]) for h in history])
