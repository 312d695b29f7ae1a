"""The calibrated dataset: every turn of the source file, with its cloud outcomes for the
configured cloud and (when measured) its local outcomes for the local model in use: measured
where measured, rescaled by per-task factors elsewhere. Each side is handled alike; the local
side's factors also carry joules, since the local model's energy is ours.

Why every turn and not the measured ones only: the policy is trained on whole dialogues
(`lab.bench_eval.complete_dialogues`), and a 20 % sample of turns leaves few of them
whole. So each turn keeps its local outcomes as the source file measured them, and its cloud
outcomes are

- **measured** (row marked ``"calibration": "measured"``) where every cloud action of the turn
  was asked again: the new answer, score, tokens, seconds and dollars;
- **rescaled** (``"calibration": "rescaled"``, answer left empty) elsewhere, from the source
  row by the factors of the turn's task, fitted on the measured turns of that task, paired
  action by action with the source rows: dollars, latency and time to first token times
  the ratio of their sums (new / source); the score mapped so the task's mean moves from the
  source mean ``m`` to the measured mean ``m'`` while staying in [0, 1]:
  ``1 - (1 - q)(1 - m')/(1 - m)`` when the cloud scores higher, ``q m'/m`` when lower.
  A task with no measured turn uses the factors pooled over all measured turns.

The header is the source's with ``models.cloud`` naming the configured cloud and a
``calibration`` block (source, date, sample, factors, dollars spent); `load_bench` reads the
result as any LCIO-Bench file.
"""

from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lab.calibrate.sample import SourceFile

RESCALED_SECONDS = ("latency_s", "ttft_s")


@dataclass(frozen=True)
class Factors:
    """How one task's cloud outcomes move from the source cloud to the configured one: the
    means of the same (turn, cloud action) pairs on both."""

    pairs: int
    quality_source: float
    quality_new: float
    usd_source: float  # dollars per answer
    usd_new: float
    latency_source: float  # seconds per answer
    latency_new: float
    ttft_source: float
    ttft_new: float
    energy_source: float = 0.0  # joules per answer (local answers; the cloud's are 0)
    energy_new: float = 0.0

    def quality(self, q: float) -> float:
        m, m_new = self.quality_source, self.quality_new
        if m_new >= m:
            return q if m >= 1 else 1 - (1 - q) * (1 - m_new) / (1 - m)
        return q * m_new / m if m > 0 else q

    @property
    def usd_ratio(self) -> float:
        return _ratio(self.usd_new, self.usd_source)

    @property
    def latency_ratio(self) -> float:
        return _ratio(self.latency_new, self.latency_source)

    @property
    def ttft_ratio(self) -> float:
        return _ratio(self.ttft_new, self.ttft_source)

    @property
    def energy_ratio(self) -> float:
        return _ratio(self.energy_new, self.energy_source)

    def to_json(self) -> dict[str, float]:
        return {k: v if isinstance(v, int) else round(float(v), 9) for k, v in self.__dict__.items()}


def _ratio(new: float, old: float) -> float:
    return new / old if old > 0 else 1.0


COLUMNS = ("score", "cost_usd", "latency_s", "ttft_s", "energy_j")


def _values(row: dict[str, Any]) -> list[float]:
    m = row.get("measured") or {}
    return [float(row["score"]), *(float(m.get(k) or 0.0) for k in COLUMNS[1:])]


def fit(pairs: list[tuple[dict, dict]]) -> Factors | None:
    """Factors from (source row, measured row) pairs of valid answers; None without pairs."""
    ok = [(s, n) for s, n in pairs if s.get("error") is None and n.get("error") is None]
    if not ok:
        return None
    src = np.array([_values(s) for s, _ in ok]).mean(0)
    new = np.array([_values(n) for _, n in ok]).mean(0)
    return Factors(len(ok), src[0], new[0], src[1], new[1], src[2], new[2], src[3], new[3],
                   src[4], new[4])


def side_actions(source: SourceFile, key: str, side: str) -> list[int]:
    """The actions of one side ("cloud" or "local") the file measured for a turn."""
    return [int(r["action"]) for r in source.outcomes_of(key) if r["location"] == side]


def measured_turns(source: SourceFile, measured: dict[str, dict], side: str = "cloud") -> list[str]:
    """Turns (keys) whose every action of `side` was measured again."""
    out = []
    for key in source.turns:
        actions = side_actions(source, key, side)
        if actions and all(f"{key}/{a}" in measured for a in actions):
            out.append(key)
    return out


def fit_factors(source: SourceFile, measured: dict[str, dict], turns: list[str],
                side: str = "cloud") -> tuple[dict[str, Factors], Factors | None]:
    """Per-task factors over the measured turns, and the pooled ones (the fallback)."""
    by_task: dict[str, list[tuple[dict, dict]]] = {}
    for key in turns:
        task = source.turns[key]["task"]
        for a in side_actions(source, key, side):
            k = f"{key}/{a}"
            by_task.setdefault(task, []).append((source.outcomes[k], measured[k]))
    per_task = {task: f for task, pairs in by_task.items() if (f := fit(pairs)) is not None}
    pooled = fit([p for pairs in by_task.values() for p in pairs])
    return per_task, pooled


def rescaled(row: dict[str, Any], f: Factors, model: str) -> dict[str, Any]:
    out = copy.deepcopy(row)
    out.update({"answer": "", "model": model, "calibration": "rescaled",
                "score": round(f.quality(float(row["score"])), 6)})
    m = out["measured"]
    m["cost_usd"] = (m.get("cost_usd") or 0.0) * f.usd_ratio
    for name, ratio in (("latency_s", f.latency_ratio), ("ttft_s", f.ttft_ratio),
                        ("energy_j", f.energy_ratio)):
        if m.get(name) is not None:
            m[name] = round(m[name] * ratio, 4)
    return out


@dataclass
class Side:
    """One side's measurements and what they were measured on, for `compose`."""

    location: str  # "cloud" or "local"
    measured: dict[str, dict]
    identity: dict[str, Any]  # goes into the header's models.<location>

    def fitted(self, source: SourceFile) -> tuple[set[str], dict[str, Factors], Factors]:
        turns = measured_turns(source, self.measured, self.location)
        per_task, pooled = fit_factors(source, self.measured, turns, self.location)
        if pooled is None:
            raise SystemExit(f"No turn was measured completely on the {self.location} side: "
                             "there is nothing to calibrate it with (raise the cap or --limit, "
                             "and rerun).")
        return set(turns), per_task, pooled

    def block(self, source: SourceFile, fitted: tuple[set[str], dict[str, Factors], Factors],
              ) -> dict[str, Any]:
        done, per_task, pooled = fitted
        return {"measured_turns": len(done), "turns": len(source.turns),
                "factors": {t: f.to_json() for t, f in sorted(per_task.items())},
                "pooled": pooled.to_json()}


def compose(source: SourceFile, measured: dict[str, dict], out: Path, cloud: dict[str, Any],
            info: dict[str, Any], local: Side | None = None) -> dict[str, Any]:
    """Write the calibrated dataset to `out` (whole, then renamed into place); returns its
    ``calibration`` header block. `measured` is the cloud side's (may be empty when only
    `local` was measured). Raises SystemExit when a side has no measured turn."""
    sides = [s for s in (Side("cloud", measured, cloud) if measured else None, local) if s]
    if not sides:
        raise SystemExit("Nothing was measured: there is nothing to calibrate with.")
    fitted = {s.location: (s, s.fitted(source)) for s in sides}
    header = copy.deepcopy(source.header)
    for side in sides:
        header["models"][side.location] = {k: v for k, v in side.identity.items() if k != "date"}
    header["measured"] = {"created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    first = sides[0].block(source, fitted[sides[0].location][1])
    block = {**info, "source": source.path.name, "date": cloud["date"], **first,
             "sides": {loc: s.block(source, f) for loc, (s, f) in fitted.items()},
             "method": "measured turns replace their outcomes, side by side; the others are "
                       "rescaled by their task's factors (lab/calibrate/compose.py)"}
    header["calibration"] = block
    lines = [header]
    for key, turn in source.turns.items():
        lines.append(turn)
        for row in source.outcomes_of(key):
            if row["location"] not in fitted:
                lines.append(row)
                continue
            side, (done, per_task, pooled) = fitted[row["location"]]
            if key in done:
                lines.append({**side.measured[row["key"]], "calibration": "measured"})
            else:
                lines.append(rescaled(row, per_task.get(turn["task"], pooled),
                                      str(side.identity.get("model") or "")))
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
                           for r in lines), encoding="utf-8")
    os.replace(tmp, out)
    return block
