"""The overlap benchmark's report (`python -m lab.overlap`); the measuring itself needs the
real stand-in and local model and is run by hand (docs/configuration.md)."""

from __future__ import annotations

import pytest

from lab import overlap


def test_report_gives_the_slowdown_and_names_a_timeout(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    figures = {1: ([5.0, 5.0], [14.0, 16.0]), 0: ([3.0, 3.0], [170.0, None])}

    def fake_measure(threads: int, tokens: int, timeout_s: float) -> dict:
        alone, beside = figures[threads]
        return {"threads": threads, "model": "lcio-standin", "alone_s": alone, "beside_local_s": beside}

    monkeypatch.setattr(overlap, "measure", fake_measure)
    results = overlap.main(["--threads", "1,0"])
    out = capsys.readouterr().out
    assert [r["threads"] for r in results] == [1, 0]
    assert "stand-in threads 1 (lcio-standin): alone 5.0 s / 5.0 s; beside local generation " \
           "14.0 s / 16.0 s, 3.0x slower beside" in out
    assert "stand-in threads default (lcio-standin): alone 3.0 s / 3.0 s; beside local " \
           "generation 170.0 s / timed out\n" in out
