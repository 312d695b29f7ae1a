"""Bad files in a real browser: `python app.py` (real backends) driven by Debian's chromium.

After a normal turn, a pixel-bomb PNG and then a PDF are sent: each time the chat says what
is wrong (naming the file), the earlier conversation stays on screen, the input box is
emptied of the bad file and usable, and the next normal turn is answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser_support import ARGS, CHROMIUM, OUT, attach, short_answer_app
from tests.media import minimal_pdf, pixel_bomb

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.fault]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with short_answer_app(tmp_path_factory) as (url, _):
        yield url


# The box is usable again and holds no text and no file.
BOX_EMPTY = """() => {
  const box = document.querySelector('#msg');
  const text = box.querySelector('textarea');
  return !!text && !text.disabled && text.value === ''
    && box.querySelectorAll('.thumbnail-item, .thumbnail-wrapper, .file-preview').length === 0;
}"""


def _bot_texts(page) -> list[str]:
    return page.locator('#chat [data-testid="bot"]').all_inner_texts()


def _user_texts(page) -> list[str]:
    return page.locator('#chat [data-testid="user"]').all_inner_texts()


def _send(page, text: str, files: list[Path]) -> int:
    """Attach `files`, type `text`, press Enter; returns the bot message count before."""
    before = len(_bot_texts(page))
    if files:
        attach(page, files)
        page.wait_for_function(  # the file sits in the box (so clearing it can be seen)
            "() => document.querySelectorAll('#msg .thumbnail-item, #msg .thumbnail-wrapper')"
            ".length >= 1", timeout=30_000)
        page.wait_for_timeout(1500)  # let the upload finish
    page.fill("#msg textarea", text)
    page.press("#msg textarea", "Enter")
    return before


def _wait_bot_message(page, before: int, needle: str, timeout_ms: int) -> str:
    page.wait_for_function(
        """([n, needle]) => { const bots = document.querySelectorAll('#chat [data-testid="bot"]');
           return bots.length > n && bots[bots.length - 1].innerText.includes(needle); }""",
        arg=[before, needle], timeout=timeout_ms)
    return _bot_texts(page)[-1]


def test_pixel_bomb_and_pdf_are_named_in_the_chat_and_the_chat_goes_on(
        app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    bomb = pixel_bomb(tmp_path, 12_000, "bomb.png")
    pdf = minimal_pdf(tmp_path, "paper.pdf")
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(app_url)
        page.wait_for_selector("#msg textarea", timeout=60_000)

        _send(page, "What is the capital of France?", [])
        page.wait_for_selector('#decision-card .lcio-card[data-turn="1"]:not([data-status="streaming"])',
                               timeout=300_000)
        first_answer = _bot_texts(page)[-1]
        assert first_answer.strip()

        for files, text, needles in (([bomb], "What is in this picture?", ("bomb.png", "megapixels")),
                                     ([pdf], "Summarise this paper.", ("paper.pdf", "PNG", "WAV"))):
            before = _send(page, text, files)
            message = _wait_bot_message(page, before, needles[0], 60_000)
            for needle in needles:
                assert needle in message, message
            assert "What is the capital of France?" in _user_texts(page), "earlier history stays"
            assert first_answer in _bot_texts(page)
            page.wait_for_function(BOX_EMPTY, timeout=15_000)  # the bad file is gone from the box

        before = _send(page, "Name a colour.", [])
        page.wait_for_selector('#decision-card .lcio-card[data-turn="4"]:not([data-status="streaming"])',
                               timeout=300_000)
        page.wait_for_function(
            "n => document.querySelectorAll('#chat [data-testid=\"bot\"]').length > n", arg=before,
            timeout=30_000)
        last = _bot_texts(page)[-1]
        assert last.strip() and "⚠️" not in last, last
        page.screenshot(path=str(OUT / "bad-input-browser.png"), full_page=True)
        browser.close()
