"""One `app.tools.predict_check` session in a real browser: Debian's chromium through Playwright.

It does what a person does on the chat page: opens the settings, sets the budgets and the
policy, starts a new session, then per turn attaches the files, types the question, presses
Enter and waits until the decision card says the turn is over and the box is free again.
The card rounds its figures (0.1 s, four decimals of a dollar), so each turn's expected and
actual figures and its 80 % interval are read from the app's session log (the SQLite file
the app was started with, `LCIO_LOG_PATH`), the row of this session and turn.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]  # Debian's chromium headless on a server; the browser tests use them too
TURN_MS = 600_000
ROW_WAIT_S = 30.0  # the log row is written as the turn ends, a moment after the card


def log_row(log: Path, session_id: str, turn: int) -> dict[str, Any] | None:
    """The session log's row of `turn` (1-based) of `session_id`, or None while not written."""
    with sqlite3.connect(f"file:{log}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM turns WHERE session_id = ? AND turn_index = ?",
                         (session_id, turn - 1)).fetchone()
    return dict(row) if row else None


def decision_from_row(row: dict[str, Any], turn: int, kind: str) -> dict[str, Any]:
    """The log row in the shape `/chat` returns (`app.card.decision_data`), as far as the
    check reads it: status, location, expected (with its range) and actual."""
    decision = json.loads(row["decision"]) if row.get("decision") else {}
    band = decision.get("expected_range") or {}
    expected = None
    if row.get("expected_latency_s") is not None:
        expected = {"latency_s": row["expected_latency_s"], "cost_usd": row["expected_cost_usd"],
                    "range": band}
    actual = None
    if row.get("latency_s") is not None:
        actual = {"latency_s": row["latency_s"], "cost_usd": row["cost_usd"],
                  "energy_j": row["energy_j"]}
    return {"turn": turn, "kind": kind, "status": row["status"], "location": row["location"],
            "expected": expected, "actual": actual}


def _wait_row(log: Path, session_id: str, turn: int) -> dict[str, Any]:
    deadline = time.monotonic() + ROW_WAIT_S
    while (row := log_row(log, session_id, turn)) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"turn {turn} of session {session_id} is not in {log}")
        time.sleep(0.2)
    return row


def _new_session(page: Any, policy: str, budgets: tuple[float, float, float]) -> str:
    """Settings panel: budgets and policy, then "Start a new session"; the new session's id."""
    page.get_by_text("Settings: budgets, reward weights, policy").click()
    for box, value in zip(("#b-usd", "#b-lat", "#b-en"), budgets, strict=True):
        page.fill(f"{box} input", str(value))
    page.locator("#policy input").click()
    page.get_by_role("option", name=policy, exact=True).click()
    page.click("#new")
    page.wait_for_function("p => document.querySelector('#note')?.innerText.includes(p)", arg=policy,
                           timeout=60_000)
    note = page.inner_text("#note")
    found = re.search(r"New session (\w+) with policy", note)
    if not found:
        raise RuntimeError(f"no session id on the page: {note!r}")
    return found.group(1)


def _send(page: Any, turn: int, text: str, files: list[Path]) -> None:
    """Attach, type, press Enter; wait until turn `turn`'s card is final and the box free."""
    if files:
        page.set_input_files("#msg input[type=file]", [str(f) for f in files])
        page.wait_for_function(
            "n => document.querySelectorAll('#msg .thumbnail-item, #msg .thumbnail-wrapper, "
            "#msg audio').length >= n || document.querySelectorAll('#msg img').length >= n",
            arg=len(files), timeout=60_000)
        page.wait_for_timeout(500)  # the upload's request ends after its thumbnail shows
    page.fill("#msg textarea", text)
    # The page lists the box's files as ticked checkboxes ("Send these attachments"), updated
    # when the box changes (typing too); as a person does, send once the list shows this
    # turn's files (sent earlier, a stale list is refused: "… is not in the list of choices").
    page.wait_for_function(
        "n => { const k = document.querySelector('#keep');"
        " const b = k ? [...k.querySelectorAll('input[type=checkbox]')] : [];"
        " return b.length === n && b.every(x => x.checked); }", arg=len(files), timeout=60_000)
    page.press("#msg textarea", "Enter")
    page.wait_for_function(
        "t => document.querySelector("
        "`#decision-card .lcio-card[data-turn=\"${t}\"]:not([data-status=\"streaming\"])`)"
        " || document.querySelector('.toast-body.error')", arg=turn, timeout=TURN_MS)
    if page.locator(".toast-body.error").count():
        raise RuntimeError(f"turn {turn}: the page says {page.inner_text('.toast-body.error')!r}")
    page.wait_for_function("() => !document.querySelector('#msg textarea')?.disabled",
                           timeout=TURN_MS)


def run_browser_session(url: str, policy: str, plan: list[tuple[str, list[Path]]], log: Path,
                        budgets: tuple[float, float, float],
                        on_turn: Callable[[str, dict[str, Any]], None] = lambda policy, row: None
                        ) -> list[dict[str, Any]]:
    """One session with `policy` driven through the page; the decision data of every turn
    (each also handed to `on_turn` as it ends)."""
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.wait_for_selector("#msg textarea", timeout=120_000)
            session_id = _new_session(page, policy, budgets)
            for i, (text, files) in enumerate(plan, start=1):
                _send(page, i, text, files)
                kind = files[0].suffix if files else "text"
                rows.append(decision_from_row(_wait_row(log, session_id, i), i, kind))
                on_turn(policy, rows[-1])
        finally:
            browser.close()
    return rows

