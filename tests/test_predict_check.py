"""The prediction check's arithmetic and its browser mode's reading of the log (app/tools/predict_check.py,
app/tools/predict_browser.py); the browser run itself is a script (docs/page.md), not a test."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.card import decision_data
from app.session import Session
from app.tools.predict_browser import decision_from_row, log_row
from app.tools.predict_check import errors, turn_plan


def row(turn: int, exp: float, act: float, location: str = "cloud", usd: tuple[float, float] = (1.0, 1.0),
        band: tuple[float, float] = (0.0, 100.0)) -> dict:
    return {"turn": turn, "status": "answered", "location": location,
            "expected": {"latency_s": exp, "cost_usd": usd[0],
                         "range": {"latency_s": list(band), "cost_usd": [usd[0] / 2, usd[0] * 2]}},
            "actual": {"latency_s": act, "cost_usd": usd[1]}}


def test_errors_are_medians_of_relative_misses_with_coverage() -> None:
    rows = [row(1, 10.0, 2.0, band=(5.0, 20.0)), row(2, 2.0, 2.0), row(3, 3.0, 2.0),
            row(6, 1.0, 2.0, location="local", usd=(0.0, 0.0)),
            {"turn": 7, "status": "rejected", "expected": None, "actual": None}]
    e = errors(rows)
    assert e["turns"] == 4 and e["cloud_turns"] == 3
    assert e["latency_median_rel_error"] == pytest.approx((0.5 + 0.5) / 2)  # of 4.0, 0.0, 0.5, 0.5
    assert e["latency_coverage"] == pytest.approx(3 / 4)
    assert errors(rows, first_turn=6)["turns"] == 1


def test_plan_gives_each_session_new_questions() -> None:
    first, second = turn_plan(8, [Path("a.png")], [Path("q.wav")]), turn_plan(8, [Path("a.png")],
                                                                              [Path("q.wav")], start=8)
    assert [k for _, k in first[:4]] == [[], [Path("a.png")], [], [Path("q.wav")]]
    texts = [t for t, f in first + second if not f]
    assert len(texts) == len(set(texts))


def test_browser_mode_reads_the_turn_as_chat_returns_it(tmp_path: Path) -> None:
    from tests.test_app_engine import make

    engine, store, _, _, _ = make(tmp_path)
    session = Session()
    records = [list(engine.run(session, text))[-1].record for text in ("hello there", "and again")]
    log = tmp_path / "log.sqlite"
    assert log_row(log, session.id, 3) is None
    for turn, record in enumerate(records, start=1):
        read = decision_from_row(log_row(log, session.id, turn), turn, "text")
        api = decision_data(record)
        assert read["status"] == api["status"] and read["location"] == api["location"]
        assert read["expected"]["latency_s"] == pytest.approx(api["expected"]["latency_s"])
        assert read["expected"]["range"] == api["expected"]["range"]
        assert read["actual"]["cost_usd"] == pytest.approx(api["actual"]["cost_usd"])
    assert errors([decision_from_row(log_row(log, session.id, 2), 2, "text")])["turns"] == 1
