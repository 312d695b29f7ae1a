"""The participant's flow on the real SQLite store and engine (fake backends): consent,
rating gates the next turn, questionnaire, and that nothing is lost across a restart."""

from __future__ import annotations

import json
from pathlib import Path

from app.study.config import load_study_config
from app.study.service import INTERRUPTED_NOTE
from tests.study_helpers import last, make_config, make_service


def test_consent_then_rated_turns_then_questionnaire(tmp_path: Path) -> None:
    svc = make_service(make_config(tmp_path))
    assert svc.view(None).phase == "consent"
    assert svc.consent(False).phase == "consent"  # no box ticked, nobody created
    assert svc.store.participants() == []
    v = svc.consent(True)
    pid = v.participant
    assert v.phase == "chat" and pid.startswith("p-") and len(pid) == 18

    v = last(svc.send(pid, "Where should I travel?"))
    assert v.phase == "rate" and v.messages[-1]["role"] == "assistant"
    assert v.messages[-1]["content"].strip()
    blocked = last(svc.send(pid, "next question"))  # no rating yet: no turn
    assert blocked.phase == "rate" and "rate" in blocked.note.lower()
    assert len(svc.store.turns(pid)) == 1
    assert svc.rate(pid, "9", "").phase == "rate"  # out of range: refused
    v = svc.rate(pid, "4", "fine answer")
    assert v.phase == "chat" and v.progress == "Answer 2 of 2"
    v = last(svc.send(pid, "And what should I eat?"))
    assert len(v.messages) == 4  # same task: both exchanges shown
    v = svc.rate(pid, 2, "")
    assert v.phase == "questionnaire"
    assert svc.submit_questionnaire(pid, {"overall": "4"}).note  # 'speed' is required
    v = svc.submit_questionnaire(pid, {"overall": "4", "speed": "3", "comments": " ok "})
    assert v.phase == "done"
    turns = svc.store.turns(pid)
    assert [(t["rating"], t["comment"]) for t in turns] == [(4, "fine answer"), (2, "")]
    assert {q["item"]: q["answer"] for q in svc.store.questionnaire(pid)} == {
        "overall": "4", "speed": "3", "comments": "ok"}


def test_condition_reaches_the_engine_and_log(tmp_path: Path) -> None:
    svc = make_service(make_config(tmp_path, turns_per_task=1))
    pid = svc.consent(True).participant
    cond = svc.store.participant(pid)["conditions"][0]
    last(svc.send(pid, "hi"))
    row = svc.store.turn_rows()[0]
    assert row["condition"] == cond and row["participant"] == pid
    assert row["location"] == cond.split("-")[1]  # always-cloud -> cloud, always-local -> local
    log = svc.store.log.rows()[0]
    assert log["participant"] == pid and log["condition"] == cond


def test_everything_survives_a_restart(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    svc = make_service(cfg)
    pid = svc.consent(True).participant
    last(svc.send(pid, "first question"))
    svc.rate(pid, "5", "great")
    last(svc.send(pid, "second question"))  # answered, not yet rated, then the server dies
    spent = svc._sessions[(pid, svc.store.participant(pid)["conditions"][0])].ledger.spent

    again = make_service(cfg)  # new store, engine and service on the same file
    v = again.view(pid)
    assert v.phase == "rate" and [m["content"] for m in v.messages if m["role"] == "user"] == [
        "first question", "second question"]
    again.rate(pid, "3", "meh")
    cond = again.store.participant(pid)["conditions"][0]
    assert [(t["rating"], t["comment"]) for t in again.store.turns(pid)] == [
        (5, "great"), (3, "meh")]
    session = again._session(pid, cond, again.store.turns(pid), 0)
    assert session.ledger.spent.usd == spent.usd and session.ledger.spent.latency_s > 0


def test_a_message_cut_off_midway_comes_back(tmp_path: Path) -> None:
    """The browser closes (or the server stops) while an answer streams: the prompt is kept
    and offered again; nothing half-written is counted as an answer."""
    cfg = make_config(tmp_path)
    svc = make_service(cfg)
    pid = svc.consent(True).participant
    stream = svc.send(pid, "a question that never finishes")
    next(stream)  # the turn has started...
    stream.close()  # ...and the client went away
    v = make_service(cfg).view(pid)
    assert v.phase == "chat" and v.prompt == "a question that never finishes"
    assert v.note == INTERRUPTED_NOTE
    assert [t["status"] for t in svc.store.turns(pid)] == ["interrupted"]


def test_scripted_task_sends_its_attachment_once(tmp_path: Path) -> None:
    from PIL import Image

    img = tmp_path / "task.png"
    Image.new("RGB", (16, 16), "blue").save(img)
    cfg = make_config(tmp_path, n_tasks=None, turns_per_task=2, tasks=[
        {"instructions": "Ask about the picture.", "prompt": "What is this?",
         "attachments": [str(img)]}])
    svc = make_service(cfg)
    v = svc.consent(True)
    assert v.prompt == "What is this?" and "Ask about the picture." in v.task
    assert v.messages == [{"role": "user", "content": {"path": str(img)}}]
    pid = v.participant
    last(svc.send(pid, "What is this?"))
    svc.rate(pid, "4", "")
    assert svc.view(pid).prompt == ""  # the follow-up is the participant's own
    last(svc.send(pid, "More?"))
    files = [json.loads(t["files"]) for t in svc.store.turns(pid)]
    assert files == [["task.png"], []]


def test_config_from_file_formats_and_env(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps(
        {"conditions": [{"name": "x", "policy": "cloud-only"}], "assignment": "random"}))
    (tmp_path / "s.yaml").write_text("conditions:\n  - {name: y, policy: local-only}\n")
    assert load_study_config(tmp_path / "s.json", env={}).assignment == "random"
    assert load_study_config(tmp_path / "s.yaml", env={}).conditions[0].name == "y"
    env = {"LCIO_STUDY_CONDITIONS": "lcio=lcio-lookahead, cloud=cloud-only",
           "LCIO_STUDY_ASSIGNMENT": "counterbalanced", "LCIO_STUDY_TOKEN": "zq-9-secret"}
    cfg = load_study_config(env=env)
    assert [(c.name, c.policy) for c in cfg.conditions] == [("lcio", "lcio-lookahead"),
                                                          ("cloud", "cloud-only")]
    assert cfg.task_count == 2 and cfg.token_value() == "zq-9-secret" and "zq-9" not in repr(cfg)
    example = Path(__file__).resolve().parent.parent / "assets" / "study" / "example.toml"
    ex = load_study_config(example, env={})
    assert ex.tasks[0].attachments[0].is_file() and ex.total_turns == 6
