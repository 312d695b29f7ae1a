"""The calibrated dataset: every turn of the source file, with its cloud outcomes for the
configured cloud: measured where measured, rescaled by per-task factors elsewhere.

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

    def to_json(self) -> dict[str, float]:
        return {k: v if isinstance(v, int) else round(float(v), 9) for k, v in self.__dict__.items()}


def _ratio(new: float, old: float) -> float:
    return new / old if old > 0 else 1.0


COLUMNS = ("score", "cost_usd", "latency_s", "ttft_s")


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
    return Factors(len(ok), src[0], new[0], src[1], new[1], src[2], new[2], src[3], new[3])


def measured_turns(source: SourceFile, measured: dict[str, dict]) -> list[str]:
    """Turns (keys) whose every cloud action was measured again."""
    out = []
    for key in source.turns:
        actions = source.cloud_actions(key)
        if actions and all(f"{key}/{a}" in measured for a in actions):
            out.append(key)
    return out


def fit_factors(source: SourceFile, measured: dict[str, dict],
                turns: list[str]) -> tuple[dict[str, Factors], Factors | None]:
    """Per-task factors over the measured turns, and the pooled ones (the fallback)."""
    by_task: dict[str, list[tuple[dict, dict]]] = {}
    for key in turns:
        task = source.turns[key]["task"]
        for a in source.cloud_actions(key):
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
    for name, ratio in (("latency_s", f.latency_ratio), ("ttft_s", f.ttft_ratio)):
        if m.get(name) is not None:
            m[name] = round(m[name] * ratio, 4)
    return out


def compose(source: SourceFile, measured: dict[str, dict], out: Path, cloud: dict[str, Any],
            info: dict[str, Any]) -> dict[str, Any]:
    """Write the calibrated dataset to `out` (whole, then renamed into place); returns its
    ``calibration`` header block. Raises SystemExit when no turn was measured."""
    turns = measured_turns(source, measured)
    per_task, pooled = fit_factors(source, measured, turns)
    if pooled is None:
        raise SystemExit("No turn was measured completely on the configured cloud: there is "
                         "nothing to calibrate with (raise --max-usd or --limit, and rerun).")
    done = set(turns)
    header = copy.deepcopy(source.header)
    header["models"]["cloud"] = {k: v for k, v in cloud.items() if k != "date"}
    header["measured"] = {"created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    block = {**info, "source": source.path.name, "date": cloud["date"],
             "measured_turns": len(turns), "turns": len(source.turns),
             "method": "measured turns replace their cloud outcomes; the others are rescaled "
                       "by their task's factors (lab/calibrate/compose.py)",
             "factors": {t: f.to_json() for t, f in sorted(per_task.items())},
             "pooled": pooled.to_json()}
    header["calibration"] = block
    lines = [header]
    for key, turn in source.turns.items():
        lines.append(turn)
        factors = per_task.get(turn["task"], pooled)
        for row in source.outcomes_of(key):
            k = row["key"]
            if row["location"] != "cloud":
                lines.append(row)
            elif key in done:
                lines.append({**measured[k], "calibration": "measured"})
            else:
                lines.append(rescaled(row, factors, cloud["model"]))
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
                           for r in lines), encoding="utf-8")
    os.replace(tmp, out)
    return block
