"""Which turns of an LCIO-Bench file are asked again, and those turns rebuilt from the file.

The sample is stratified by task and seeded: within each task the turns are put in a seeded
order and the first ``ceil(share x n)`` are taken (at least one per task), then the tasks
are interleaved rank by rank. So a larger `--share` with the same seed is a superset of a
smaller one (a rerun measures only the new turns), and a run stopped early by `--limit` or
by the dollar cap has covered the tasks evenly.

Turns are rebuilt from the file itself, not from `lab.bench.scenarios`: the scenario
code changes between bench versions, the file's rows do not. Each attachment is rendered
again from its recorded spec (`lab.bench.media.render`) and its bytes checked against
the recorded sha256.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lab.bench.build import PreparedTurn
from lab.bench.media import MediaSpec, render
from lab.scoring import Rule

log = logging.getLogger(__name__)


@dataclass
class SourceFile:
    """An LCIO-Bench file's rows by kind: the header, turn rows and outcome rows by key."""

    path: Path
    header: dict[str, Any]
    turns: dict[str, dict[str, Any]]  # "dialogue/turn" -> turn row (file order)
    outcomes: dict[str, dict[str, Any]]  # "dialogue/turn/action" -> outcome row (last wins)

    @classmethod
    def read(cls, path: Path) -> SourceFile:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
        if not rows or rows[0].get("type") != "header" or rows[0].get("format") != "lcio-bench":
            raise SystemExit(f"{path} is not an LCIO-Bench file (no lcio-bench header line).")
        turns = {r["key"]: r for r in rows[1:] if r.get("type") == "turn"}
        outcomes = {r["key"]: r for r in rows[1:] if r.get("type") == "outcome"}
        return cls(path, rows[0], turns, outcomes)

    def __post_init__(self) -> None:
        self._by_turn: dict[str, list[dict[str, Any]]] = {}
        for row in self.outcomes.values():
            self._by_turn.setdefault(row["key"].rsplit("/", 1)[0], []).append(row)
        for rows in self._by_turn.values():
            rows.sort(key=lambda r: int(r["action"]))

    def outcomes_of(self, turn_key: str) -> list[dict[str, Any]]:
        """A turn's outcome rows, by action."""
        return self._by_turn.get(turn_key, [])

    def cloud_actions(self, turn_key: str) -> list[int]:
        """The cloud actions the file measured for a turn (what is asked again)."""
        return [int(r["action"]) for r in self.outcomes_of(turn_key) if r["location"] == "cloud"]

    def dialogue(self, name: str) -> list[dict[str, Any]]:
        return sorted((r for r in self.turns.values() if r["dialogue"] == name),
                      key=lambda r: int(r["turn"]))


def select(turns: list[dict[str, Any]], share: float, seed: int,
           limit: int | None = None) -> list[str]:
    """Keys of the sampled turns, in the order they are measured (see the module doc)."""
    if not 0 < share <= 1:
        raise ValueError("--share must be in (0, 1]")
    by_task: dict[str, list[str]] = {}
    for row in turns:
        by_task.setdefault(row["task"], []).append(row["key"])
    ranked: list[list[str]] = []
    for i, task in enumerate(sorted(by_task)):
        keys = by_task[task]
        order = np.random.default_rng([seed, i]).permutation(len(keys))
        ranked.append([keys[j] for j in order[: max(1, math.ceil(share * len(keys)))]])
    out = [keys[r] for r in range(max(map(len, ranked), default=0)) for keys in ranked
           if r < len(keys)]
    return out[:limit] if limit is not None else out


@dataclass(frozen=True)
class RowDialogue:
    id: str


@dataclass(frozen=True)
class RowTurn:
    """What `build.request_for` and `build.outcome_record` read of a scenario turn."""

    prompt: str
    question: str
    reference: str
    rule: Rule


def _attachment(spec: dict[str, Any], recorded_sha: str, media_dir: Path) -> Any:
    from backends.media import MediaLimits
    from backends.types import Attachment

    path = render(MediaSpec(spec["kind"], spec.get("params") or {}, spec.get("description", "")),
                  media_dir)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if recorded_sha and digest != recorded_sha:
        log.warning("%s renders differently here than when the file was built (sha256 %s, "
                    "recorded %s); its turns are asked with this rendering", path.name,
                    digest[:12], recorded_sha[:12])
    # measured (pixels, seconds), so the spend bound uses the real size, not the largest allowed
    return Attachment.from_path(path, limits=MediaLimits())


def prepare_dialogue(source: SourceFile, name: str, media_dir: Path) -> list[PreparedTurn]:
    """Every turn of one dialogue, as `lab.bench.build` prepares them."""
    out = []
    for row in source.dialogue(name):
        files = tuple(_attachment(a["spec"], a.get("sha256", ""), media_dir)
                      for a in sorted(row["attachments"], key=lambda a: int(a["slot"])))
        turn = RowTurn(row["prompt"], row.get("question") or row["prompt"], row["reference"],
                       Rule.from_json(row["rule"]))
        out.append(PreparedTurn(RowDialogue(name), int(row["turn"]), turn, files))  # type: ignore[arg-type]
    return out
