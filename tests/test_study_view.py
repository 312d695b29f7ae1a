"""The participant's view, which single-answer and pairwise studies share (one `view` in
service.py, each mode counting its own turns): a whole walk through each mode, with scripted
tasks, an attention check and a cut-off message, screen by screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.study.service import FAILED_NOTE, StudyService, View
from tests.study_helpers import last, make_config, make_service
from tests.test_app_engine import FakeBackend

CHECK = {"id": "colour", "text": "Choose Blue.", "choices": ["Red", "Blue"], "answer": "Blue",
         "after_turn": 1}
TASKS = [{"instructions": "Plan a trip.", "prompt": "Where to?"},
         {"instructions": "Cook dinner.", "prompt": "What to eat?"}]


def _screen(v: View) -> tuple[Any, ...]:
    """What the participant sees, in short."""
    return (v.phase, v.progress, v.task, v.prompt, bool(v.note), v.check and v.check["id"],
            len(v.messages), len(v.left), len(v.right))


def _walk(svc: StudyService, judge: Any) -> list[tuple[Any, ...]]:
    """Consent, a turn, its judgement, the check, a cut-off turn, a reload, the last turn."""
    v = svc.consent(True)
    pid = v.participant
    screens = [_screen(v)]
    screens.append(_screen(last(svc.send(pid, "Lyon?"))))
    screens.append(_screen(judge(pid)))  # the check is due after the first judgement
    screens.append(_screen(svc.answer_check(pid, None, "Blue")))
    stream = svc.send(pid, "cut off")
    next(stream)
    stream.close()
    screens.append(_screen(make_service(svc.config).view(pid)))  # a restart: offered again
    screens.append(_screen(last(svc.send(pid, "Rice?"))))
    screens.append(_screen(judge(pid)))
    return screens


def _config(tmp_path: Path, pairwise: bool = False, **over: Any) -> Any:
    if pairwise:
        over |= {"mode": "pairwise", "conditions": [{"name": "cond-x", "policy": "cloud-only"},
                                                    {"name": "cond-y", "policy": "local-only"}]}
    return make_config(tmp_path, n_tasks=None, turns_per_task=1, tasks=TASKS,
                       attention_checks=[CHECK], questionnaire=[{"id": "q", "text": "Q?"}], **over)


@pytest.mark.parametrize("pairwise", [False, True], ids=["single", "pairwise"])
def test_view_screen_by_screen(tmp_path: Path, pairwise: bool) -> None:
    svc = make_service(_config(tmp_path, pairwise))
    if pairwise:
        screens = _walk(svc, lambda pid: svc.vote(pid, "A is better"))
        unit, judging, dialogue = "Comparison", "vote", (0, 2, 2)  # two chats side by side
    else:
        screens = _walk(svc, lambda pid: svc.rate(pid, "4", ""))
        unit, judging, dialogue = "Answer", "rate", (2, 0, 0)  # one chat
    trip, dinner = "**Task 1 of 2.** Plan a trip.", "**Task 2 of 2.** Cook dinner."
    empty = (0, 0, 0)
    assert screens == [
        ("chat", f"{unit} 1 of 2", trip, "Where to?", False, None, *empty),
        (judging, f"{unit} 1 of 2", trip, "", False, None, *dialogue),
        ("check", f"{unit} 1 of 2", "", "", True, "colour", *empty),
        ("chat", f"{unit} 2 of 2", dinner, "What to eat?", False, None, *empty),
        ("chat", f"{unit} 2 of 2", dinner, "cut off", True, None, *empty),
        (judging, f"{unit} 2 of 2", dinner, "", False, None, *dialogue),
        ("questionnaire", f"{unit} 2 of 2", "", "", True, None, *empty),
    ]


@pytest.mark.parametrize("pairwise", [False, True], ids=["single", "pairwise"])
def test_refused_and_failed_turns_say_why_and_end_the_send(tmp_path: Path, pairwise: bool) -> None:
    """A refused file or an empty answer ends the send with a note (in pairwise, before side B
    runs); the turn's row says what happened and the participant stays in the chat."""
    silent = {name: FakeBackend(name, []) for name in ("local", "cloud")}  # empty answers
    svc = make_service(_config(tmp_path, pairwise), backends=silent)
    pid = svc.consent(True).participant
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    refused = last(svc.send(pid, "Look at this", [str(broken)]))
    assert refused.phase == "chat" and refused.note and refused.note != FAILED_NOTE
    failed = last(svc.send(pid, "Hello?"))
    assert (failed.phase, failed.note, failed.progress) == ("chat", FAILED_NOTE, refused.progress)
    assert [t["status"] for t in svc.store.turns(pid)] == ["rejected", "failed"]


def test_a_vote_and_a_check_answer_are_stored_once(tmp_path: Path) -> None:
    """A double click or a second tab cannot store a second vote or check answer."""
    svc = make_service(_config(tmp_path, pairwise=True))
    pid = svc.consent(True).participant
    last(svc.send(pid, "Lyon?"))
    a, b = svc.store.turns(pid)
    assert svc.store.vote(pid, 0, a, b, "A", None, None) is True
    assert svc.store.vote(pid, 0, a, b, "B", 1, 1) is False
    assert [v["vote"] for v in svc.store.votes(pid)] == ["A"]
    assert svc.store.answer_attention(pid, "colour", "Blue", True) is True
    assert svc.store.answer_attention(pid, "colour", "Red", False) is False
    assert [(x["answer"], x["correct"]) for x in svc.store.attention(pid)] == [("Blue", 1)]
