"""A study end to end in a real headless chromium: `python app.py` with LCIO_STUDY_CONFIG,
real backends (the 4-bit SmolLM2 and the stand-in cloud over HTTP, 16 new tokens).

A participant consents, does a scripted task with an image (two rated turns, a reload in
between that must resume with the same anonymous id), answers the questionnaire; then
the researcher is refused with a wrong token, opens the view with the right one and
exports CSV, whose rows must match what was entered. Screenshots in runs/test-output/.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser_support import ARGS, CHROMIUM, OUT, ROOT, running_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TOKEN = "browser-test-token-7f3a9c"
CAT = ROOT / "assets" / "study" / "cat.jpg"
# What the blind page must never show (the normal page's card, gauges and model line).
NEVER_SHOWN = ["SmolLM", "stand-in", "standin", "nf4", "Decision", "budget", "LOCAL", "CLOUD",
               "cloud-only", "local-only", "$"]


@pytest.fixture(scope="module")
def study_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    d = tmp_path_factory.mktemp("study")
    (d / "study.toml").write_text(f"""
name = "Browser study"
assignment = "balanced"
seed = 3
turns_per_task = 2
max_new_tokens = 16
db_path = "study.sqlite"
consent = "### Consent\\n\\nYou will rate two answers. Tick the box to take part."
[[conditions]]
name = "c-remote"
policy = "cloud-only"
[[conditions]]
name = "c-here"
policy = "local-only"
[[tasks]]
instructions = "Ask what the picture shows, then ask one follow-up question."
prompt = "What animal is in this picture?"
attachments = ["{CAT}"]
[[questionnaire]]
id = "overall"
text = "Overall satisfaction"
[[questionnaire]]
id = "noticed"
text = "Did quality change?"
kind = "choice"
choices = ["No", "A little", "A lot"]
[[questionnaire]]
id = "comments"
text = "Anything else?"
kind = "text"
required = false
""")
    with running_app(d, {"LCIO_MAX_NEW_TOKENS": "16", "LCIO_STUDY_TOKEN": TOKEN,
                         "LCIO_STUDY_CONFIG": str(d / "study.toml"),
                         "LCIO_LOG_PATH": str(d / "sessions.sqlite")}) as url:
        yield url, d


def _visible_text(page) -> str:
    return page.inner_text("body")


def _rated_turn(page, question: str | None, stars: str, comment: str) -> str:
    """Send (the pre-filled prompt if `question` is None), wait for the answer and the
    rating form, rate; returns the answer text as shown."""
    box = "#study-msg textarea"
    page.wait_for_selector(f"{box}:not([disabled])", timeout=60_000)
    if question is not None:
        page.fill(box, question)
    page.press(box, "Enter")
    page.wait_for_selector("#rating", state="visible", timeout=400_000)
    bots = page.locator('#study-chat [data-testid="bot"]')
    answer = bots.nth(bots.count() - 1).inner_text().strip()
    assert answer, "an answer is shown before the rating"
    shown = _visible_text(page)
    assert not [w for w in NEVER_SHOWN if w in shown.replace(answer, "")], shown
    assert page.locator("#decision-card, #gauges, #models-in-use").count() == 0
    if stars == "4":
        page.screenshot(path=str(OUT / "study-participant-chat.png"), full_page=True)
    page.check(f"#stars input[value='{stars}']")
    page.fill("#comment textarea", comment)
    page.click("#rate")
    page.wait_for_selector("#rating", state="hidden", timeout=30_000)
    return answer


def _pid(page) -> str:
    page.wait_for_function(
        "() => /p-[0-9a-f]{16}/.test(document.querySelector('#participant-id')?.innerText || '')",
        timeout=30_000)
    return re.search(r"p-[0-9a-f]{16}", page.inner_text("#participant-id")).group(0)


def _download(page, name: str) -> str:
    with page.expect_download() as info:
        # each file is a row: name (stem and extension) | download link (its size)
        page.locator("#export-files tr", has_text=name).locator("td.download a").first.click()
    return Path(info.value.path()).read_text(encoding="utf-8")


def test_participant_then_researcher_export(study_url: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    url, _ = study_url
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1200, "height": 1000}, accept_downloads=True)
        page = ctx.new_page()
        page.goto(url)
        page.wait_for_selector("#consent-text", timeout=60_000)
        assert "You will rate two answers" in page.inner_text("#consent")
        assert page.locator("#chat-area").is_hidden()
        page.click("#start")  # without ticking the box: still the consent page
        page.wait_for_function("() => (document.querySelector('#note')?.innerText || '').includes('tick')",
                               timeout=30_000)
        page.check("#agree input[type=checkbox]")
        page.click("#start")
        pid = _pid(page)
        assert "Task 1 of 1" in page.inner_text("#task")
        assert page.input_value("#study-msg textarea") == "What animal is in this picture?"

        first = _rated_turn(page, None, "4", "first comment")
        page.reload()  # the id is kept in the browser: the session resumes
        assert _pid(page) == pid
        page.wait_for_selector("#chat-area", state="visible", timeout=30_000)
        assert first[:20] in page.inner_text("#study-chat")
        _rated_turn(page, "Is it a pet?", "2", "second comment")

        page.wait_for_selector("#questionnaire", state="visible", timeout=30_000)
        page.check("#q-overall input[value='5']")
        page.check("#q-noticed input[value='A little']")
        page.fill("#q-comments textarea", "felt fine")
        page.click("#finish")
        page.wait_for_selector("#done", state="visible", timeout=30_000)
        page.screenshot(path=str(OUT / "study-participant-done.png"), full_page=True)

        res = ctx.new_page()
        res.goto(url + "researcher")
        res.wait_for_selector("#token input", timeout=60_000)
        res.fill("#token input", "not-the-token")
        res.click("#open")
        res.wait_for_function(
            "() => (document.querySelector('#researcher-status')?.innerText || '').includes('Wrong')",
            timeout=30_000)
        assert res.locator("#dashboard").is_hidden() and pid not in _visible_text(res)
        res.fill("#token input", TOKEN)
        res.click("#open")
        res.wait_for_selector("#dashboard", state="visible", timeout=30_000)
        res.wait_for_function(f"() => document.body.innerText.includes('{pid}')", timeout=30_000)
        res.click("#export")
        res.wait_for_selector("#export-files a", timeout=30_000)
        turns = list(csv.DictReader(io.StringIO(_download(res, "study-turns"))))
        answers = list(csv.DictReader(io.StringIO(_download(res, "study-questionnaire"))))
        res.wait_for_timeout(800)  # let plotly draw
        res.screenshot(path=str(OUT / "study-researcher.png"), full_page=True)
        browser.close()

    answered = [t for t in turns if t["status"] == "answered"]
    assert [(t["participant"], t["rating"], t["comment"]) for t in answered] == [
        (pid, "4", "first comment"), (pid, "2", "second comment")]
    assert [t["prompt"] for t in answered] == ["What animal is in this picture?", "Is it a pet?"]
    assert answered[0]["files"] == '["cat.jpg"]' and answered[0]["answer"].strip()
    cond = answered[0]["condition"]
    assert cond in ("c-remote", "c-here") and all(t["condition"] == cond for t in answered)
    assert {t["location"] for t in answered} == {"cloud" if cond == "c-remote" else "local"}
    assert all(float(t["latency_s"]) > 0 for t in answered)
    assert {(a["participant"], a["item"], a["answer"]) for a in answers} == {
        (pid, "overall", "5"), (pid, "noticed", "A little"), (pid, "comments", "felt fine")}
