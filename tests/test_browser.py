"""End to end in a real headless browser: `python app.py` with the real backends (the 4-bit
SmolLM2 and the stand-in cloud over HTTP), driven by Debian's chromium through Playwright.

A text turn, then a turn with an image and an audio file: the answers appear, the decision
card and the gauges change, and a screenshot is saved under runs/test-output/. The time
from submit to the decision card on screen is measured in the page and reported (printed
and written to browser-timings.json), never asserted as a timing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser_support import ARGS, CHROMIUM, OUT, attach, short_answer_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox are needed to make the test audio")
    from PIL import Image
    from skimage import data

    d = tmp_path_factory.mktemp("media")
    img = d / "cat.png"
    Image.fromarray(data.chelsea()).save(img)
    raw, wav = d / "raw.wav", d / "question.wav"
    subprocess.run(["espeak-ng", "-w", str(raw), "What animal is in the picture?"], check=True)
    subprocess.run(["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav)], check=True)
    return {"image": img, "audio": wav}


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The README's command on a free port, honouring Gradio's own settings."""
    with short_answer_app(tmp_path_factory) as (url, _):
        yield url


WATCH_CARD = """() => {
  window.__lcio = {submits: [], cards: []};
  const box = document.querySelector('#msg textarea');
  box.addEventListener('keydown', e => { if (e.key === 'Enter' && !e.shiftKey)
      window.__lcio.submits.push(performance.now()); }, true);
  const card = document.querySelector('#decision-card');
  new MutationObserver(() => {
    const c = card.querySelector('.lcio-card');
    if (!c) return;
    const key = c.dataset.turn + ':' + c.dataset.status;
    const seen = window.__lcio.cards;
    if (!seen.length || seen[seen.length - 1].key !== key)
      seen.push({key, turn: c.dataset.turn, status: c.dataset.status,
                 location: c.dataset.location, t: performance.now()});
  }).observe(card, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def _card_delay_ms(page, turn: int) -> float:
    d = page.evaluate("() => window.__lcio")
    submit = d["submits"][-1]
    first = next(c for c in d["cards"] if c["turn"] == str(turn))
    return first["t"] - submit


def _gauges_text(page) -> str:
    return page.inner_text("#gauges")


def _wait_answered(page, turn: int, timeout_ms: int) -> None:
    page.wait_for_selector(
        f'#decision-card .lcio-card[data-turn="{turn}"]:not([data-status="streaming"])',
        timeout=timeout_ms)


def _last_bot_text(page) -> str:
    bots = page.locator('#chat [data-testid="bot"]')
    return bots.nth(bots.count() - 1).inner_text() if bots.count() else ""


def test_text_then_image_and_audio_turn(app_url: str, media: dict[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    OUT.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float | str] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(app_url)
        page.wait_for_selector("#msg textarea", timeout=60_000)
        models = page.inner_text("#models-in-use")
        assert "SmolLM2" in models and "stand-in" in models
        # The side column's sections may render a moment after the input box.
        page.wait_for_selector("#decision-card", state="attached", timeout=60_000)
        page.evaluate(WATCH_CARD)
        gauges0 = _gauges_text(page)

        # Turn 1: text only.
        page.fill("#msg textarea", "What is the capital of France?")
        page.press("#msg textarea", "Enter")
        page.wait_for_selector('#decision-card .lcio-card[data-turn="1"]', timeout=30_000)
        timings["turn1_submit_to_card_ms"] = round(_card_delay_ms(page, 1), 1)
        _wait_answered(page, 1, 300_000)
        assert _last_bot_text(page).strip(), "the first answer appears"
        card1 = page.inner_text("#decision-card")
        assert ("LOCAL" in card1 or "CLOUD" in card1) and "probability" in card1
        page.wait_for_function("g => document.querySelector('#gauges').innerText !== g", arg=gauges0,
                               timeout=30_000)
        gauges1 = _gauges_text(page)
        timings["turn1_location"] = page.get_attribute("#decision-card .lcio-card", "data-location")

        # Turn 2: an image and an audio file.
        attach(page, [media["image"], media["audio"]])
        page.wait_for_function(
            "() => document.querySelectorAll('#msg .thumbnail-item, #msg .thumbnail-wrapper').length >= 2"
            " || document.querySelectorAll('#msg img').length >= 1", timeout=30_000)
        page.fill("#msg textarea", "Describe the picture and answer my recorded question.")
        page.wait_for_timeout(1500)  # let the uploads finish: time the decision, not them
        page.press("#msg textarea", "Enter")
        page.wait_for_selector('#decision-card .lcio-card[data-turn="2"]', timeout=60_000)
        timings["turn2_submit_to_card_ms"] = round(_card_delay_ms(page, 2), 1)
        card2_live = page.inner_text("#decision-card")
        assert "cat.png" in card2_live and "question.wav" in card2_live, card2_live
        _wait_answered(page, 2, 400_000)
        assert _last_bot_text(page).strip(), "the second answer appears"
        page.wait_for_function("g => document.querySelector('#gauges').innerText !== g", arg=gauges1,
                               timeout=30_000)
        timings["turn2_location"] = page.get_attribute("#decision-card .lcio-card", "data-location")
        assert "2 turns" in page.inner_text("#totals")
        page.wait_for_timeout(800)  # let plotly finish drawing
        page.screenshot(path=str(OUT / "browser.png"), full_page=True)
        browser.close()
    (OUT / "browser-timings.json").write_text(json.dumps(timings, indent=2))
    print("browser timings:", json.dumps(timings))
