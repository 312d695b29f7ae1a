"""Analysis-ready export (issue 13): tidy CSV per table, a codebook for every column, and
a script that reproduces the researcher view's tables from the export alone."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from app.study.analysis import RANKING_COLUMNS, SUMMARY_COLUMNS, from_export
from app.study.researcher import Researcher
from tests.study_helpers import TOKEN, last, make_config, make_service

ROOT = Path(__file__).resolve().parents[1]
CONDITIONS = [{"name": "cond-x", "policy": "cloud-only"}, {"name": "cond-y", "policy": "local-only"},
              {"name": "cond-z", "policy": "cloud-only"}]
CHECK = {"id": "colour", "text": "Choose Blue.", "choices": ["Red", "Blue"], "answer": "Blue",
         "after_turn": 1}


def _pairwise_study(tmp_path: Path):
    cfg = make_config(tmp_path, mode="pairwise", conditions=CONDITIONS, turns_per_task=1,
                      n_tasks=2, attention_checks=[CHECK], questionnaire=[])
    svc = make_service(cfg)
    for i, (votes, check) in enumerate([(["A is better", "B is better"], "Blue"),
                                        (["Tie", "A is better"], "Blue"),
                                        (["B is better", "Both are bad"], "Red"),
                                        (["A is better", "A is better"], "Blue")]):
        pid = svc.consent(True, recruited={"external_id": f"ext-{i}"}).participant
        last(svc.send(pid, f"question {i}"))
        svc.vote(pid, votes[0], "4", None)
        svc.answer_check(pid, None, check)
        last(svc.send(pid, f"follow-up {i}"))
        svc.vote(pid, votes[1], None, None)
    return cfg, svc


def test_export_has_a_codebook_for_every_column_and_reproduces_the_view(tmp_path: Path) -> None:
    cfg, svc = _pairwise_study(tmp_path)
    researcher = Researcher(cfg, svc.store)
    files = [Path(f) for f in researcher.export(TOKEN, "CSV")]
    names = {f.name for f in files}
    assert {"study-participants.csv", "study-turns.csv", "study-votes.csv",
            "study-questionnaire.csv", "study-attention.csv", "codebook.csv",
            "study.json"} <= names
    folder = files[0].parent
    with (folder / "codebook.csv").open() as f:
        book = {(r["file"], r["column"]) for r in csv.DictReader(f)}
    for f in files:
        if f.suffix == ".csv" and f.name != "codebook.csv":
            header = f.read_text().splitlines()[0].split(",")
            assert {(f.name, c) for c in header} == {b for b in book if b[0] == f.name}, f.name
    votes = list(csv.DictReader((folder / "study-votes.csv").open()))
    assert len(votes) == 8 and {v["vote"] for v in votes} == {"A", "B", "tie", "both_bad"}

    view = researcher.dashboard(TOKEN)
    result = from_export(folder)  # the export alone
    assert [[s.get(c) for c in SUMMARY_COLUMNS] for s in result["summary"]] == view["summary"]
    assert [[r.get(c) for c in RANKING_COLUMNS] for r in result["ranking"]] == view["ranking"]
    assert len(result["excluded"]) == 1  # the one who chose Red is left out of both
    assert len(result["votes"]) == 6

    out = tmp_path / "tables"
    run = subprocess.run([sys.executable, "-m", "app.study.analysis", str(folder), "--out",
                          str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    with (out / "ranking.csv").open() as f:
        ranked = list(csv.DictReader(f))
    assert [r["condition"] for r in ranked] == [r[1] for r in view["ranking"]]
    assert [float(r["score"]) for r in ranked] == [r[2] for r in view["ranking"]]
    assert (out / "ratings.html").stat().st_size > 1000
    assert "Bradley" in (out / "ranking.html").read_text()
    assert "Bradley" in view["figure"].layout.title.text  # the dashboard shows the same figure
    meta = json.loads((folder / "study.json").read_text())
    assert meta["conditions"] == ["cond-x", "cond-y", "cond-z"] and TOKEN not in json.dumps(meta)
