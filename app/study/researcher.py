"""The researcher's side, behind the token: participants, ratings by condition with CIs,
cost and latency per condition, and the export. Every handler checks the token itself
(constant-time), so calling an endpoint directly without it returns nothing.
"""

from __future__ import annotations

import hmac
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from app.study import analysis, stats
from app.study.codebook import codebook_csv
from app.study.config import StudyConfig
from app.study.limits import GLOBAL, TokenGate
from app.study.ranking import ranking_figure
from app.study.store import StudyStore

NO_TOKEN = ("No researcher token is configured. Set `LCIO_STUDY_TOKEN` (a Space secret, or "
            "an environment variable on a laptop) and restart.")
WRONG = "Wrong or missing token."
LOCKED = "Too many wrong tokens from this address: try again in {wait} s."
# The global lockout meets the real researcher too, who may have done nothing wrong.
LOCKED_FOR_ALL = ("Too many wrong tokens were tried from all addresses together, so the "
                  "researcher view is locked for everyone: try again in {wait} s.")
PARTICIPANT_COLUMNS = ["participant", "external_id", "conditions", "answered", "rated",
                       "attention_failed", "excluded", "repeat_of", "outcome",
                       "questionnaire_ts", "created", "last_active"]
# Same tables as the export's script computes (analysis.py).
RANKING_COLUMNS, SUMMARY_COLUMNS = analysis.RANKING_COLUMNS, analysis.SUMMARY_COLUMNS


def token_ok(config: StudyConfig, given: str | None) -> bool:
    """Constant-time comparison; no configured token means nobody gets in."""
    expected = config.token_value()
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _shown(column: str, value: Any) -> Any:
    """Times as readable UTC for the table (exports keep epoch seconds for analysis)."""
    if column in ("created", "last_active", "questionnaire_ts") and value is not None:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(value)))
    return value


def _repeats_note(repeats: list[dict[str, Any]]) -> str:
    """What the repeat rule did, for the status line ("" when no id came twice)."""
    refused = sum(r["decision"] == "refused" for r in repeats)
    admitted = len(repeats) - refused
    parts = ([f"{refused} repeat consents refused"] if refused else []) + (
        [f"{admitted} repeat participants admitted and flagged (repeat_of)"] if admitted else [])
    return "".join(f"; {p}" for p in parts)


class Researcher:
    def __init__(self, config: StudyConfig, store: StudyStore) -> None:
        self.config = config
        self.store = store
        self.gate = TokenGate(config.token_value(), config.limits)

    def dashboard(self, token: str | None, address: str = "local") -> dict[str, Any] | None:
        """Tables and figure for the view, or None when the token is wrong (or locked out)."""
        if not self.gate.check(token, address):
            return None
        participants = self.store.participants()
        result = analysis.analyse(participants, self.store.turn_rows(), self.store.votes(),
                                  [c.name for c in self.config.conditions], self.config.seed)
        rows, votes, excluded = result["turns"], result["votes"], result["excluded"]
        summary, ranked = result["summary"], result["ranking"]
        return {
            "participants": [[_shown(c, p.get(c)) for c in PARTICIPANT_COLUMNS]
                             for p in participants],
            "summary": [[s.get(c) for c in SUMMARY_COLUMNS] for s in summary],
            "ranking": [[r.get(c) for c in RANKING_COLUMNS] for r in ranked],
            "figure": ranking_figure(ranked) if self.config.mode == "pairwise"
            else stats.ratings_figure(summary),
            "status": (f"**{self.config.name}** — {len(participants)} participants, "
                       f"{sum(r['status'] == 'answered' for r in rows)} answered turns, "
                       f"{sum(r['rating'] is not None for r in rows)} ratings, "
                       f"{len(votes)} votes; "
                       f"assignment: {self.config.assignment}"
                       + (f"; {len(excluded)} excluded by the attention rule" if excluded else "")
                       + _repeats_note(self.store.repeats()) + "."),
        }

    def export(self, token: str | None, fmt: str, address: str = "local") -> list[str] | None:
        """Files for download (a fresh private folder per export), or None."""
        if not self.gate.check(token, address):
            return None
        ext = "jsonl" if str(fmt).lower().startswith("json") else "csv"
        folder = Path(tempfile.mkdtemp(prefix="lcio-study-export-"))
        out = []
        files = self.store.export(ext)
        if ext == "csv":  # analysis-ready: what every column means, and what analysis.py needs
            files["codebook.csv"] = codebook_csv()
            files["study.json"] = json.dumps(self._meta(), indent=2) + "\n"
        for name, text in files.items():
            path = folder / name
            path.write_text(text, encoding="utf-8")
            out.append(str(path))
        return out

    def _meta(self) -> dict[str, Any]:
        c = self.config
        return {"name": c.name, "mode": c.mode, "assignment": c.assignment, "seed": c.seed,
                "conditions": [x.name for x in c.conditions],
                "condition_policies": {x.name: x.policy for x in c.conditions},
                "consent_version": c.consent_version,
                "attention_rule": c.attention_rule.model_dump(),
                "repeat_participants": c.recruitment.repeat_participants,
                "exported_ts": time.time(),
                "reproduce": "python -m app.study.analysis <this folder> --out <folder>"}

    def message(self, address: str = "local") -> str:
        everyone = self.gate.locked_for(GLOBAL)  # read first: never below `wait` if it binds
        wait = self.gate.locked_for(address)
        if wait > 0:
            return (LOCKED_FOR_ALL if everyone >= wait else LOCKED).format(wait=int(wait) + 1)
        return WRONG if self.config.token_value() else NO_TOKEN
