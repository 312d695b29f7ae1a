"""The researcher view's tables, from the database or from a CSV export alone.

    python -m app.study.analysis EXPORT_FOLDER [--out FOLDER]

reads `study-*.csv` and `study.json` (conditions, seed) from an export, types every column
by the codebook, and writes (or prints) `summary.csv` (ratings, cost and latency by
condition), `ranking.csv` (pairwise: Bradley–Terry with bootstrap CIs, win rates) and
`participants.csv`, plus the figures `ratings.html` and (pairwise) `ranking.html` with
--out. The dashboard computes
its tables with the same `analyse()`, so both agree to the digit.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from app.study import ranking, stats
from app.study.codebook import CODEBOOK, parse

SUMMARY_COLUMNS = ["condition", "participants", "ratings", "rating_participant_mean",
                   "rating_ci_low", "rating_ci_high", "mean_rating", "turns", "cloud_share",
                   "mean_cost_usd", "total_cost_usd", "mean_latency_s", "latency_ci_low",
                   "latency_ci_high"]
RANKING_COLUMNS = ["rank", "condition", "score", "score_ci_low", "score_ci_high", "win_rate",
                   "comparisons", "wins", "ties", "losses"]


def analyse(participants: list[dict[str, Any]], turns: list[dict[str, Any]],
            votes: list[dict[str, Any]], conditions: list[str], seed: int) -> dict[str, Any]:
    """Summary by condition and pairwise ranking, leaving out excluded participants."""
    excluded = {p["participant"] for p in participants if p.get("excluded")}
    rows = [r for r in turns if r["participant"] not in excluded]
    kept_votes = [v for v in votes if v["participant"] not in excluded]
    return {
        "excluded": excluded, "turns": rows, "votes": kept_votes,
        "summary": stats.by_condition(rows, conditions),
        "ranking": ranking.ranking(kept_votes, conditions, seed=seed) if kept_votes else [],
    }


def load_export(folder: str | Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """(study.json, {table: typed rows}) of an export folder."""
    folder = Path(folder)
    meta = json.loads((folder / "study.json").read_text(encoding="utf-8"))
    tables = {}
    for table in CODEBOOK:
        path = folder / f"study-{table}.csv"
        if not path.exists():  # an export made before the table existed (e.g. repeats)
            tables[table] = []
            continue
        with path.open(encoding="utf-8", newline="") as f:
            tables[table] = [parse(table, row) for row in csv.DictReader(f)]
    return meta, tables


def from_export(folder: str | Path) -> dict[str, Any]:
    meta, t = load_export(folder)
    out = analyse(t["participants"], t["turns"], t["votes"], meta["conditions"], meta["seed"])
    out["participants"] = t["participants"]
    return out


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="a folder with the researcher's CSV export")
    parser.add_argument("--out", help="write summary.csv, ranking.csv, participants.csv and "
                                      "the figures here (default: print the tables)")
    args = parser.parse_args(argv)
    result = from_export(args.export)
    files = {"summary.csv": _csv(result["summary"], SUMMARY_COLUMNS),
             "ranking.csv": _csv(result["ranking"], RANKING_COLUMNS),
             "participants.csv": _csv(result["participants"], list(CODEBOOK["participants"]))}
    if args.out is None:
        for name, text in files.items():
            sys.stdout.write(f"# {name}\n{text}\n")
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    stats.ratings_figure(result["summary"]).write_html(out / "ratings.html",
                                                       include_plotlyjs=True)
    figures = ["ratings.html"]
    if result["ranking"]:
        ranking.ranking_figure(result["ranking"]).write_html(out / "ranking.html",
                                                             include_plotlyjs=True)
        figures.append("ranking.html")
    print(f"wrote {', '.join([*files, *figures])} to {out}")


if __name__ == "__main__":
    main()
