"""Pairwise mode (Chatbot-Arena style): every prompt is answered under two conditions, shown
side by side as "A" and "B" (which condition is left is drawn per turn; labels hidden),
then the participant votes A / B / tie / both bad, optionally rating each 1–5.

Each side is a turn of its own in the study and the engine's log (its condition's session,
budget and costs), tagged with its side; the vote row names both conditions, so the
export holds every vote and the ranking (ranking.py) needs nothing else. Which pair a
participant compares at turn t cycles through all pairs of conditions starting at their
arrival number, so pairs are used evenly across participants.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.study.config import StudyConfig
from app.study.service import Standing, StudyService, View

VOTES = {"A is better": "A", "B is better": "B", "Tie": "tie", "Both are bad": "both_bad"}


def pair_at(config: StudyConfig, seq: int, pid: str, turn: int) -> tuple[str, str]:
    """(left condition, right condition) for a participant's `turn`-th comparison."""
    names = [c.name for c in config.conditions]
    pairs = list(itertools.combinations(names, 2))
    left, right = pairs[(seq + turn) % len(pairs)]
    if random.Random(f"{config.seed}:side:{pid}:{turn}").random() < 0.5:
        left, right = right, left
    return left, right


def _pairs(rows: list[dict[str, Any]]) -> dict[int, dict[str, dict[str, Any]]]:
    """turn -> side -> its latest answered row."""
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for r in rows:
        if r["status"] == "answered" and r.get("side") in ("A", "B"):
            out.setdefault(r["turn"], {})[r["side"]] = r
    return out


def _complete(pairs: dict[int, dict[str, dict[str, Any]]]) -> list[int]:
    """The turns whose two sides were both answered, in order."""
    return sorted(t for t, sides in pairs.items() if len(sides) == 2)


class PairwiseService(StudyService):
    """The study flow with a vote on two answers in place of a rating of one."""

    JUDGING = "vote"
    UNIT = "Comparison"

    def _standing(self, pid: str, rows: list[dict[str, Any]]) -> Standing:
        """One pair a turn, voted on before the next; a vote counts towards the total."""
        complete = _complete(_pairs(rows))
        voted = {v["turn"] for v in self.store.votes(pid)}
        judging = bool(complete) and complete[-1] not in voted
        return Standing(judging=judging, made=len(complete), counted=len(voted),
                        judged=len(voted), shown=len(voted) + judging)

    def _show_dialogue(self, view: View, rows: list[dict[str, Any]], task_index: int) -> None:
        """The current task's two dialogues side by side: the task's files, then each pair."""
        spec = self.config.task(task_index)
        files = [{"role": "user", "content": {"path": str(p)}} for p in spec.attachments] \
            if spec is not None else []
        left, right = list(files), list(files)
        pairs = _pairs(rows)
        for t in _complete(pairs):
            a, b = pairs[t]["A"], pairs[t]["B"]
            if a["task"] != task_index:
                continue
            for chat, row in ((left, a), (right, b)):
                chat.append({"role": "user", "content": row["prompt"] or "(attachment)"})
                chat.append({"role": "assistant", "content": row["answer"] or ""})
        view.left, view.right = left, right

    def _send(self, pid: str, view: View, text: str, files: list[str]) -> Iterator[View]:
        p = self.store.participant(pid)
        assert p is not None
        rows = self.store.turns(pid)
        turn = sum(len(s) == 2 for s in _pairs(rows).values())
        task = turn // self.config.turns_per_task
        spec = self.config.task(task)
        if spec is not None and turn % self.config.turns_per_task == 0:
            files = [str(a) for a in spec.attachments] + files
        left, right = pair_at(self.config, p["seq"], pid, turn)
        asked = [{"role": "user", "content": {"path": f}} for f in files
                 if spec is None or f not in {str(a) for a in spec.attachments}]
        if text:
            asked.append({"role": "user", "content": text})
        chats = {"A": [*view.left, *asked], "B": [*view.right, *asked]}
        for side, condition in (("A", left), ("B", right)):
            study_turn = self.store.start_turn(pid, turn, task, condition, text,
                                               [Path(f).name for f in files], side=side)
            session = self._session(pid, condition, rows, task)

            def live(answer: str, side: str = side) -> View:
                shown = {**chats, side: [*chats[side], {"role": "assistant", "content": answer}]}
                return View("chat", pid, task=view.task, progress=view.progress, live=True,
                            left=shown["A"], right=shown["B"])

            answer = yield from self._answer(pid, study_turn, session, text, files, live)
            if answer is None:
                return
            chats[side] = [*chats[side], {"role": "assistant", "content": answer}]
        yield self.view(pid)

    def vote(self, pid: str | None, choice: str | None, rating_left: Any = None,
             rating_right: Any = None) -> View:
        """Store the vote on the pair on screen (and the optional 1–5 ratings)."""
        view = self.view(pid)
        if view.phase != "vote":
            return view
        vote = VOTES.get(str(choice), choice if choice in VOTES.values() else None)
        if vote is None:
            view.note = "Please choose A, B, tie or both bad."
            return view
        ratings = [_stars(rating_left), _stars(rating_right)]
        assert pid is not None
        pairs = _pairs(self.store.turns(pid))
        turn = max(t for t, s in pairs.items() if len(s) == 2)
        self.store.vote(pid, turn, pairs[turn]["A"], pairs[turn]["B"], vote, *ratings)
        return self.view(pid, note="Thank you — your vote is saved.")

    def rate(self, pid: str | None, rating: Any, comment: str | None) -> View:
        return self.view(pid)  # pairwise studies vote instead


def _stars(value: Any) -> int | None:
    try:
        stars = int(value)
    except (TypeError, ValueError):
        return None
    return stars if 1 <= stars <= 5 else None
