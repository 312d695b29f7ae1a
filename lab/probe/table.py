"""The probe's summary: per model, the score on the items every measured model answered.

Scores are compared on the common items only (a model measured on a per-family subset pulls
the others down to it), with the paired difference to the local model and its 95 % interval
(normal approximation over items), so "beats the local model by >= 0.15" can be read off.
Speed and file columns come from the model's latest row in models.jsonl (a --speed-only
row first).
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from lab.probe.candidates import LOCAL_KEY
from lab.probe.items import QUALITY_FAMILY


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def scores_by_model(answers: list[dict[str, Any]]) -> dict[str, dict[str, tuple[str, float]]]:
    """model -> item id -> (family, score); a repeated item keeps its first answer."""
    out: dict[str, dict[str, tuple[str, float]]] = defaultdict(dict)
    for row in answers:
        out[row["model"]].setdefault(row["id"], (row["family"], float(row["score"])))
    return dict(out)


def paired_gap(a: list[float], b: list[float]) -> tuple[float, float]:
    """Mean of a - b over paired items and the half-width of its 95 % interval."""
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    if len(diffs) < 2:
        return (diffs[0] if diffs else 0.0), float("nan")
    return statistics.fmean(diffs), 1.96 * statistics.stdev(diffs) / math.sqrt(len(diffs))


def summary(out: Path, only: list[str] | None = None) -> dict[str, Any]:
    """Per model (all, or `only` these): everyday mean and per family on the common items,
    gap to local, speed row."""
    scores = scores_by_model(_rows(out / "answers.jsonl"))
    if only:
        scores = {m: s for m, s in scores.items() if m in only}
    # The latest row per model; a --speed-only row (items 0) wins: its memory and load time
    # are a served model's, not a batch-answering run's.
    speed: dict[str, dict[str, Any]] = {}
    for row in sorted(_rows(out / "models.jsonl"), key=lambda r: r.get("items") == 0):
        speed[row["model"]] = row
    if not scores:
        return {"common": 0, "models": {}}
    common = sorted(set.intersection(*(set(s) for s in scores.values())))
    everyday = [i for i in common if scores[next(iter(scores))][i][0] != QUALITY_FAMILY]
    models: dict[str, Any] = {}
    for model, got in scores.items():
        families: dict[str, list[float]] = defaultdict(list)
        for item in common:
            families[got[item][0]].append(got[item][1])
        row: dict[str, Any] = {
            "everyday": statistics.fmean(got[i][1] for i in everyday) if everyday else float("nan"),
            "families": {f: statistics.fmean(v) for f, v in sorted(families.items())},
            "speed": speed.get(model, {}),
        }
        if LOCAL_KEY in scores and model != LOCAL_KEY and everyday:
            row["gap"] = paired_gap([got[i][1] for i in everyday],
                                    [scores[LOCAL_KEY][i][1] for i in everyday])
        models[model] = row
    return {"common": len(common), "everyday_items": len(everyday), "models": models}


def markdown(out: Path, only: list[str] | None = None) -> str:
    data = summary(out, only)
    models = data["models"]
    if not models:
        return "(no answers yet)"
    names = list(models)
    head = "| | " + " | ".join(models[m]["speed"].get("name", m) for m in names) + " |"
    lines = [head, "|---" * (len(names) + 1) + "|"]
    lines.append(f"| **everyday mean** ({data['everyday_items']} items) | " + " | ".join(
        f"**{models[m]['everyday']:.3f}**" for m in names) + " |")
    lines.append("| minus local, 95 % interval | " + " | ".join(
        (f"{models[m]['gap'][0]:+.3f} ± {models[m]['gap'][1]:.3f}" if "gap" in models[m]
         else "(baseline)") for m in names) + " |")
    families = sorted({f for m in names for f in models[m]["families"]})
    for family in families:
        lines.append(f"| {family} | " + " | ".join(
            f"{models[m]['families'].get(family, float('nan')):.2f}" for m in names) + " |")
    for label, key, fmt in (("64-token reply, s (wall, busy machine)", "reply_s", "{:.1f}"),
                            ("64-token reply, CPU s (≈ one idle core)", "reply_cpu_s", "{:.1f}"),
                            ("tok/s (64-token reply)", "tok_s", "{:.2f}"),
                            ("load, s", "load_s", "{:.0f}"),
                            ("peak memory, MB", "peak_rss_mb", "{:.0f}"),
                            ("file, MB", "file_bytes", "{:.0f}"),
                            ("load average during run", "load_avg_1m", "{:.1f}")):
        cells = []
        for m in names:
            value = models[m]["speed"].get(key)
            if key == "file_bytes" and value is not None:
                value = value / 1e6
            cells.append(fmt.format(value) if value is not None else "–")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| sha256 | " + " | ".join(
        f"`{models[m]['speed'].get('sha256', '')[:16]}…`" for m in names) + " |")
    lines.append("| licence | " + " | ".join(
        models[m]["speed"].get("licence", "–") for m in names) + " |")
    return "\n".join(lines)
