"""Read an LCIO-Bench file as a table where every action of every turn is measured.

M4A1 logs one action per turn, so `policies.m4a1.simulator.QualityModel` guesses the others by
nearest neighbours. The benchmark needs no guessing: `load_bench` returns, per turn, arrays
over `ActionSpace(slots=3, local_subsets=True)` of quality, latency, dollars, energy and time
to first token, NaN where an action was not valid for the turn (`valid` is False there).

Intended use by training/evaluation (`--dataset PATH` pointing at a ``*.jsonl`` whose first
line is an ``lcio-bench`` header): build episodes from `Bench.dialogues`, take an action's
outcome from `BenchTurn.outcome(a)` instead of the k-NN model and the device/network cost
profile, and `to_policy_dialogues` for the parts that read `policies.m4a1.data.Dialogue`.

v3 turns carry a `family` (topic/template group) and local answers their mean token
log-probability (`local_logprob`); `family_split` keeps whole families on one side, so a
held-out evaluation never tests a prompt whose family it trained on.

Latency of a local action is the measured `latency_s`, which includes perception only when
the attachment was not yet cached during the build; `perception_cold_s` per slot is recorded
so a consumer can add first-sight perception cost where it wants to (`cold_perception=True`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from policies.base import ActionSpace
from policies.bench.tasks import TASKS
from policies.profiles import RESOURCES  # noqa: F401 - the one order of resources


@dataclass
class BenchTurn:
    """One turn: what was asked, what it carried, and every action's measured outcome."""

    dialogue: str
    index: int
    task: str
    prompt: str
    present: tuple[bool, ...]
    kinds: tuple[str, ...]  # "image"/"audio" per present slot
    relevant: tuple[bool, ...]
    quality: np.ndarray  # [n_actions], NaN where not valid
    latency_s: np.ndarray
    usd: np.ndarray
    energy_j: np.ndarray
    ttft_s: np.ndarray
    valid: np.ndarray  # bool [n_actions]: the action was valid and measured
    answers: dict[int, str] = field(default_factory=dict)
    perception_cold_s: tuple[float, ...] = ()
    family: str = ""  # v3's topic/template group; v1/v2: the blueprint (their template)
    local_logprob: dict[int, float] = field(default_factory=dict)  # v3: mean token log-prob
    refers_to: tuple[int, ...] = ()  # earlier turns of the dialogue this one depends on

    @property
    def task_id(self) -> int:
        return TASKS.index(self.task)

    def outcome(self, action: int) -> dict[str, float]:
        """Quality and costs of `action`; raises if it was not measured for this turn."""
        if not self.valid[action]:
            raise KeyError(f"action {action} was not measured for {self.dialogue}/{self.index}")
        return {"quality": float(self.quality[action]), "latency_s": float(self.latency_s[action]),
                "usd": float(self.usd[action]), "energy_j": float(self.energy_j[action]),
                "ttft_s": float(self.ttft_s[action])}

    def best_action(self) -> int:
        """Highest-quality measured action (ties: the cheaper, i.e. the lower index)."""
        q = np.where(self.valid, self.quality, -np.inf)
        return int(np.argmax(q))


@dataclass
class Bench:
    header: dict[str, Any]
    space: ActionSpace
    dialogues: dict[str, list[BenchTurn]]

    @property
    def turns(self) -> list[BenchTurn]:
        return [t for turns in self.dialogues.values() for t in turns]

    def complete(self) -> bool:
        """Every turn has every action its attachments allow."""
        return all(
            bool((t.valid == self.space.mask_for(list(t.present))).all()) for t in self.turns
        )


def is_bench_file(path: str | Path) -> bool:
    """True for a JSONL file whose first line is an LCIO-Bench header (for `--dataset`)."""
    path = Path(path)
    if path.suffix != ".jsonl" or not path.is_file():
        return False
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
    try:
        return json.loads(first).get("format") == "lcio-bench"
    except (ValueError, AttributeError):
        return False


def load_bench(path: str | Path, cold_perception: bool = False) -> Bench:
    """Parse the benchmark; the last row of a key wins (a rebuilt row replaces an older one)."""
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()]
    if not rows or rows[0].get("type") != "header":
        raise ValueError(f"{path} is not an LCIO-Bench file (no header line)")
    header = rows[0]
    spec = header["action_space"]
    space = ActionSpace(slots=int(spec["slots"]), local_subsets=bool(spec["local_subsets"]))
    n = space.n
    turns: dict[tuple[str, int], BenchTurn] = {}
    order: list[tuple[str, int]] = []
    for row in rows[1:]:
        if row["type"] == "turn":
            atts = row["attachments"]
            present = tuple(i < len(atts) for i in range(space.slots))
            cold = (row.get("measured") or {}).get("perception_cold_s") or []
            nan = lambda: np.full(n, np.nan)  # noqa: E731
            key = (row["dialogue"], int(row["turn"]))
            if key not in turns:
                order.append(key)
            turns[key] = BenchTurn(
                row["dialogue"], int(row["turn"]), row["task"], row["prompt"], present,
                tuple(a["kind"] for a in atts), tuple(bool(a["relevant"]) for a in atts),
                nan(), nan(), nan(), nan(), nan(), np.zeros(n, dtype=bool),
                perception_cold_s=tuple(float(c) for c in cold),
                family=str(row.get("family") or row.get("blueprint") or ""),
                refers_to=tuple(int(i) for i in row.get("refers_to") or ()))
        elif row["type"] == "outcome":
            t = turns[(row["dialogue"], int(row["turn"]))]
            a = int(row["action"])
            m = row.get("measured") or {}
            latency = _num(m.get("latency_s"))
            if cold_perception and row["location"] == "local" and t.perception_cold_s:
                latency += sum(t.perception_cold_s[s] for s in row["slots"])
            t.quality[a] = float(row["score"])
            t.latency_s[a] = latency
            t.usd[a] = _num(m.get("cost_usd"))
            t.energy_j[a] = _num(m.get("energy_j"))
            t.ttft_s[a] = _num(m.get("ttft_s"))
            t.valid[a] = row.get("error") is None
            t.answers[a] = row["answer"]
            if row.get("mean_logprob") is not None:
                t.local_logprob[a] = float(row["mean_logprob"])
    dialogues: dict[str, list[BenchTurn]] = {}
    for key in order:
        dialogues.setdefault(key[0], []).append(turns[key])
    return Bench(header, space, dialogues)


def _num(value: Any) -> float:
    return float(value) if value is not None and not (isinstance(value, float)
                                                      and math.isnan(value)) else 0.0


def to_policy_dialogues(bench: Bench, association: Any = None) -> list[Any]:
    """`policies.m4a1.data.Dialogue`s for code that reads them (task ids are the bench's TASKS).

    There is no single logged action: `logged_action` is the best measured action and
    `quality` its score. `association(turn) -> tuple[float, ...]` (per slot) should be the
    app's own prompt-attachment feature; by default 1.0 for a present slot, 0.0 otherwise —
    never the hidden `relevant` labels, which a deployed policy cannot see.
    """
    from policies.m4a1.data import Dialogue, Turn

    out = []
    for number, (_name, turns) in enumerate(bench.dialogues.items()):
        converted = []
        for t in turns:
            assoc = association(t) if association else tuple(float(p) for p in t.present)
            best = t.best_action()
            converted.append(Turn(task=t.task_id, question=t.prompt, association=tuple(assoc),
                                  present=t.present, logged_action=best,
                                  quality=float(t.quality[best])))
        out.append(Dialogue(number, tuple(converted)))
    return out


def complete_dialogues(path: str | Path) -> list[list[BenchTurn]]:
    """Dialogues whose every turn is in the file with every action its files allow measured
    (a partial file from a running build yields only its finished dialogues)."""
    bench = load_bench(path)
    expected: dict[str, int] = {}
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if '"type": "turn"' in line or '"type":"turn"' in line:
                row = json.loads(line)
                expected[row["dialogue"]] = int(row.get("n_turns", 0))
    out = []
    for name, turns in bench.dialogues.items():
        if len(turns) != expected.get(name, -1):
            continue
        if all(not np.isnan(t.quality[bench.space.mask_for(list(t.present))]).any() for t in turns):
            out.append(turns)
    return out


def family_of(turns: list[BenchTurn]) -> str:
    """A dialogue's family: its first turn's (every turn of a dialogue carries the same)."""
    return turns[0].family


def family_split(dialogues: list, seed: int, test_ratio: float = 0.2,
                 family: Callable[[Any], str] = family_of) -> tuple[list, list]:
    """Whole families to one side, so no test prompt's family (nor a near-duplicate of it)
    was seen in training: families are drawn in a seeded order into the test side until it
    holds at least `test_ratio` of the dialogues. Dialogues keep their order on each side."""
    members: dict[str, list[int]] = {}
    for i, dialogue in enumerate(dialogues):
        members.setdefault(family(dialogue), []).append(i)
    names = sorted(members)
    test: set[int] = set()
    for j in np.random.default_rng(seed).permutation(len(names)):
        if len(test) >= test_ratio * len(dialogues):
            break
        test.update(members[names[int(j)]])
    return ([d for i, d in enumerate(dialogues) if i not in test],
            [d for i, d in enumerate(dialogues) if i in test])


def split(dialogues: list, seed: int, test_ratio: float = 0.2) -> tuple[list, list]:
    """The paper's 80/20 split of whole dialogues (as `policies.m4a1.data.split_dialogues`)."""
    order = np.random.default_rng(seed).permutation(len(dialogues))
    n_test = int(len(dialogues) * test_ratio)
    return [dialogues[i] for i in order[n_test:]], [dialogues[i] for i in order[:n_test]]
