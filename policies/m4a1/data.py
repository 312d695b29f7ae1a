"""Logged dialogues as dataclasses: the M4A1 release or a generic JSONL table of turns.

Why a loader of our own: every policy, the simulator and the oracle read the same
`Dialogue` objects, so the paper's quirks (refusals score 0, cloud without views is a
separate action) are applied once, here.

Generic JSONL format (one turn per line, turns of a dialogue in order)::

    {"dialogue_id": 7, "task": "Query", "question": "...",
     "association": [0.2, 0.1, 0.0], "present": [true, true, false],
     "location": "local" | "cloud", "attachments": [0, 1],
     "quality": 1.5, "answer": "..." (optional)}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from policies.base import Action, ActionSpace

TASKS: tuple[str, ...] = ("Assistive System", "Message Editing", "Query", "Recommendation")
REFUSAL_MARKERS: tuple[str, ...] = ("sorry", "I don't have", "can't")  # paper: such answers score 0


@dataclass(frozen=True)
class Turn:
    task: int
    question: str
    association: tuple[float, ...]  # prompt-attachment similarity per slot
    present: tuple[bool, ...]  # which attachment slots exist in this turn
    logged_action: int  # index into ActionSpace(slots).actions of the action that was taken
    quality: float  # judged score of the logged answer, 0 for refusals


@dataclass(frozen=True)
class Dialogue:
    id: int
    turns: tuple[Turn, ...]


def judged_quality(score: float, answer: str) -> float:
    """The paper's quality label: the judge's score, but 0 for refusal-like answers."""
    return 0.0 if any(m in answer for m in REFUSAL_MARKERS) else float(score)


def action_index(space: ActionSpace, location: str, attachments: list[int] | None) -> int:
    return space.actions.index(Action(location, tuple(sorted(attachments or []))))  # type: ignore[arg-type]


def _task_id(name: str) -> int:
    return TASKS.index(name) if name in TASKS else TASKS.index("Query")


def _from_m4a1(raw: list[dict], space: ActionSpace) -> list[Dialogue]:
    out = []
    for ep in raw:
        turns = []
        for item, assoc in zip(ep["interactions"], ep["association_score"], strict=True):
            loc = "local" if item["action"] == 0 else "cloud"
            atts = [] if loc == "local" else (item.get("image_index") or [])
            turns.append(Turn(
                task=_task_id(item["task_cat"]), question=item["question"],
                association=tuple(float(a) for a in assoc[: space.slots]),
                present=(True,) * space.slots,  # all three camera views exist in M4A1
                logged_action=action_index(space, loc, atts),
                quality=judged_quality(item["score"], item.get("answer", "")),
            ))
        out.append(Dialogue(int(ep["id"]), tuple(turns)))
    return out


def _from_jsonl(lines: list[dict], space: ActionSpace) -> list[Dialogue]:
    by_id: dict[int, list[Turn]] = {}
    for row in lines:
        present = tuple(bool(p) for p in row.get("present", [True] * space.slots))
        loc = row["location"]
        atts = [] if loc == "local" else row.get("attachments", [])
        by_id.setdefault(int(row["dialogue_id"]), []).append(Turn(
            task=_task_id(row["task"]), question=row.get("question", ""),
            association=tuple(float(a) for a in row.get("association", [0.0] * space.slots)),
            present=present, logged_action=action_index(space, loc, atts),
            quality=judged_quality(row["quality"], row.get("answer", "")),
        ))
    return [Dialogue(i, tuple(t)) for i, t in by_id.items()]


def load_dialogues(path: str | Path, space: ActionSpace | None = None) -> list[Dialogue]:
    """Read M4A1.json (a list of dialogues) or a generic .jsonl table of turns."""
    space = space or ActionSpace()
    text = Path(path).read_text()
    if str(path).endswith(".jsonl"):
        return _from_jsonl([json.loads(x) for x in text.splitlines() if x.strip()], space)
    return _from_m4a1(json.loads(text), space)


def split_dialogues(dialogues: list[Dialogue], seed: int, test_ratio: float = 0.2
                    ) -> tuple[list[Dialogue], list[Dialogue]]:
    """The paper's 80/20 split of whole dialogues; the seed picks the shuffle."""
    order = np.random.default_rng(seed).permutation(len(dialogues))
    n_test = int(len(dialogues) * test_ratio)
    test = [dialogues[i] for i in order[:n_test]]
    train = [dialogues[i] for i in order[n_test:]]
    return train, test
