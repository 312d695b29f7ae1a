"""Recruiting from a panel (issue 13): ids from the URL, consent version in the data, a
completion code and redirect, a screen-out path, and attention checks with a rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.study.researcher import Researcher
from tests.study_helpers import TOKEN, client, last, make_config, make_service, serving

RECRUIT = {"completion_code": "C0MPLETE", "screen_out_code": "SCREENED",
           "completion_url": "https://panel.example/complete?cc={code}",
           "screen_out_url": "https://panel.example/complete?cc={code}"}
CHECK = {"id": "colour", "text": "To show you read this, choose Blue.",
         "choices": ["Red", "Blue", "Green"], "answer": "Blue", "after_turn": 1}


def _config(tmp_path: Path, action: str = "screen_out", **over: Any):
    return make_config(tmp_path, recruitment=RECRUIT, attention_checks=[CHECK],
                       attention_rule={"max_failures": 0, "action": action},
                       questionnaire=[{"id": "overall", "text": "Overall?"}], **over)


def test_completion_with_ids_consent_version_and_a_passed_check(tmp_path: Path) -> None:
    svc = make_service(_config(tmp_path))
    ids = {"external_id": "5f0c2aPID", "study_ref": "S1", "session_ref": "SESS9"}
    pid = svc.consent(True, recruited=ids).participant
    v = last(svc.send(pid, "first question"))
    v = svc.rate(pid, "4", "")
    assert v.phase == "check" and v.check["text"] == CHECK["text"] and v.check["choices"]
    assert last(svc.send(pid, "sneaking past the check")).phase == "check"  # no turn
    assert svc.answer_check(pid, None, "Purple").note  # not a choice: asked again
    v = svc.answer_check(pid, None, "Blue")
    assert v.phase == "chat"
    last(svc.send(pid, "second question"))
    assert svc.rate(pid, "5", "").phase == "questionnaire"
    v = svc.submit_questionnaire(pid, {"overall": "4"})
    assert v.phase == "done" and "C0MPLETE" in v.end_text
    assert v.redirect == "https://panel.example/complete?cc=C0MPLETE"
    row = svc.store.participants()[0]
    assert {k: row[k] for k in ids} == ids
    assert row["consent_version"] == svc.config.consent_version and len(row["consent_version"]) == 12
    assert (row["outcome"], row["attention_failed"], row["excluded"]) == ("complete", 0, 0)
    assert [(a["item"], a["answer"], a["correct"]) for a in svc.store.attention(pid)] == [
        ("colour", "Blue", 1)]
    assert svc.view(pid).phase == "done"  # a reload stays on the code


def test_failing_the_check_screens_out(tmp_path: Path) -> None:
    svc = make_service(_config(tmp_path))
    pid = svc.consent(True).participant
    last(svc.send(pid, "hello"))
    svc.rate(pid, "3", "")
    v = svc.answer_check(pid, None, "Red")
    assert v.phase == "screened" and "SCREENED" in v.end_text and "cc=SCREENED" in v.redirect
    assert last(svc.send(pid, "more")).phase == "screened"  # over: no more turns
    assert svc.store.participants()[0]["outcome"] == "screened_out"
    assert len(svc.store.turns(pid)) == 1


def test_exclude_rule_keeps_the_person_but_leaves_them_out_of_the_analysis(tmp_path: Path) -> None:
    cfg = _config(tmp_path, action="exclude", turns_per_task=1)
    svc = make_service(cfg)
    careless, careful = svc.consent(True).participant, svc.consent(True).participant
    for pid, answer, stars in ((careless, "Green", "1"), (careful, "Blue", "5")):
        last(svc.send(pid, "hi"))
        svc.rate(pid, stars, "")
        assert svc.answer_check(pid, None, answer).phase == "questionnaire"
    data = Researcher(cfg, svc.store).dashboard(TOKEN)
    by_pid = {r[0]: dict(zip(["participant", "external_id", "conditions", "answered", "rated",
                              "attention_failed", "excluded"], r, strict=False))
              for r in data["participants"]}
    assert (by_pid[careless]["attention_failed"], by_pid[careless]["excluded"]) == (1, 1)
    assert by_pid[careful]["excluded"] == 0
    rated = sum(r[2] for r in data["summary"])  # "ratings" per condition
    assert rated == 1 and "1 excluded" in data["status"]
    export = svc.store.export("csv")
    assert "attention_failed" in export["study-participants.csv"]
    assert "colour,Green,0" in export["study-attention.csv"]


def test_panel_ids_come_from_the_url_and_decline_stores_nothing(tmp_path: Path) -> None:
    svc = make_service(_config(tmp_path))
    with serving(svc) as url:
        c = client(url)
        out = c.predict(True, None, "?PROLIFIC_PID=abc123&STUDY_ID=st1&SESSION_ID=se1",
                        api_name="/consent")
        assert out[0]  # a token: a participant was made
        row = svc.store.participants()[0]
        assert (row["external_id"], row["study_ref"], row["session_ref"]) == ("abc123", "st1", "se1")
        declined = client(url).predict(None, api_name="/decline")
        assert "SCREENED" in json.dumps(declined) and "cc=SCREENED" in json.dumps(declined)
        assert len(svc.store.participants()) == 1  # declining stored nobody
