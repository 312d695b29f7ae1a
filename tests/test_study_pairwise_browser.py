"""The proof walk-through of issue 13 in Debian's chromium: a pairwise study entered through
a URL with Prolific's parameters, two blind comparisons with an attention check between
them, the questionnaire, and the completion code; then the researcher's export holds
exactly the votes that were clicked. Real app (`python app.py`), real models."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser_support import ARGS, CHROMIUM, OUT, running_app
from tests.study_helpers import client

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TOKEN = "pairwise-browser-token-4b1d"
NEVER_SHOWN = ["SmolLM", "stand-in", "standin", "nf4", "Decision", "budget", "LOCAL", "CLOUD",
               "cloud-only", "local-only", "c-remote", "c-here", "$"]


@pytest.fixture(scope="module")
def study_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    d = tmp_path_factory.mktemp("pairwise")
    (d / "study.toml").write_text("""
name = "Pairwise browser study"
mode = "pairwise"
pair_ratings = true
seed = 5
n_tasks = 1
turns_per_task = 2
max_new_tokens = 12
db_path = "study.sqlite"
consent = "### Consent\\n\\nYou will compare answers. Tick the box to take part."
consent_version = "2026-11-v3"
[recruitment]
completion_code = "LCIO-DONE-42"
[[conditions]]
name = "c-remote"
policy = "cloud-only"
[[conditions]]
name = "c-here"
policy = "local-only"
[[attention_checks]]
id = "colour"
text = "This is an attention check: please choose Blue."
choices = ["Red", "Blue", "Green"]
answer = "Blue"
after_turn = 1
[[questionnaire]]
id = "overall"
text = "Overall, how satisfied were you?"
""")
    with running_app(d, {"LCIO_MAX_NEW_TOKENS": "12", "LCIO_STUDY_TOKEN": TOKEN,
                         "LCIO_STUDY_CONFIG": str(d / "study.toml"),
                         "LCIO_LOG_PATH": str(d / "sessions.sqlite")}) as url:
        yield url


def _compare(page, question: str, vote: str, rating_a: str | None) -> None:
    box = "#study-msg textarea"
    page.wait_for_selector(f"{box}:not([disabled])", timeout=60_000)
    page.fill(box, question)
    page.press(box, "Enter")
    page.wait_for_selector("#voting", state="visible", timeout=400_000)
    for side in ("#study-chat", "#study-chat-b"):
        bots = page.locator(f'{side} [data-testid="bot"]')
        assert bots.count() >= 1 and bots.last.inner_text().strip(), side
    shown = page.inner_text("body")
    answers = [page.locator(f'{s} [data-testid="bot"]').last.inner_text()
               for s in ("#study-chat", "#study-chat-b")]
    for a in answers:
        shown = shown.replace(a, "")
    assert not [w for w in NEVER_SHOWN if w in shown], shown
    page.check(f"#vote input[value='{vote}']")
    if rating_a:
        page.check(f"#rate-a input[value='{rating_a}']")
    page.click("#vote-submit")
    page.wait_for_selector("#voting", state="hidden", timeout=30_000)


def test_pairwise_walk_through_from_a_prolific_link(study_url: str) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(study_url + "?PROLIFIC_PID=pw123&STUDY_ID=st9&SESSION_ID=se7")
        page.wait_for_selector("#consent-text", timeout=60_000)
        page.check("#agree input[type=checkbox]")
        page.click("#start")
        page.wait_for_selector("#chat-area", state="visible", timeout=30_000)
        _compare(page, "Name a colour of the sky.", "A is better", "4")
        page.screenshot(path=str(OUT / "study-pairwise-check.png"), full_page=True)
        page.wait_for_selector("#attention", state="visible", timeout=30_000)
        assert "please choose Blue" in page.inner_text("#attention")
        page.check("#check-choices input[value='Blue']")
        page.click("#check-submit")
        page.wait_for_selector("#attention", state="hidden", timeout=30_000)
        _compare(page, "Name a fruit.", "Tie", None)
        page.wait_for_selector("#questionnaire", state="visible", timeout=30_000)
        page.check("#q-overall input[value='4']")
        page.click("#finish")
        page.wait_for_selector("#done", state="visible", timeout=30_000)
        assert "LCIO-DONE-42" in page.inner_text("#done")
        page.screenshot(path=str(OUT / "study-pairwise-done.png"), full_page=True)
        browser.close()

    files, _ = client(study_url).predict(TOKEN, "CSV", api_name="/researcher_export")
    tables = {Path(f).name: list(csv.DictReader(io.StringIO(Path(f).read_text())))
              for f in files if f.endswith(".csv")}
    votes = tables["study-votes.csv"]
    assert [(v["turn"], v["vote"], v["rating_left"], v["rating_right"]) for v in votes] == [
        ("0", "A", "4", ""), ("1", "tie", "", "")]
    assert votes[0]["winner"] == votes[0]["left_condition"]
    assert {votes[0]["left_condition"], votes[0]["right_condition"]} == {"c-remote", "c-here"}
    (person,) = tables["study-participants.csv"]
    assert (person["external_id"], person["study_ref"], person["session_ref"]) == (
        "pw123", "st9", "se7")
    assert (person["consent_version"], person["outcome"]) == ("2026-11-v3", "complete")
    assert [(a["item"], a["answer"], a["correct"]) for a in tables["study-attention.csv"]] == [
        ("colour", "Blue", "1")]
    sides = [(t["turn"], t["side"], t["condition"]) for t in tables["study-turns.csv"]
             if t["status"] == "answered"]
    assert len(sides) == 4 and {s[1] for s in sides} == {"A", "B"}
