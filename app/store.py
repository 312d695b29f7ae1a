"""The session log: one row per turn, one per rating, exportable as CSV or JSONL; in a
SQLite file or on a database server (app/database.py; schema in app/migrations/).

What is stored: the decision (action, probability, estimates, multipliers, reason), the
observation the policy saw, costs, latency, the prompt and answer text, ratings and the
sha256 of every attachment. What is never stored: API keys, file paths, file contents.
Columns `participant` and `condition` are there for the later study mode.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.database import database_url, engine_for, sqlite_file

TURN_COLUMNS: dict[str, str] = {
    "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "session_id": "TEXT NOT NULL",
    "turn_index": "INTEGER NOT NULL",
    "ts": "REAL NOT NULL",
    "participant": "TEXT",
    "condition": "TEXT",
    "policy": "TEXT",
    "prompt": "TEXT",
    "answer": "TEXT",
    "status": "TEXT",  # answered | cancelled | rejected | failed
    "error": "TEXT",
    "action": "INTEGER",
    "location": "TEXT",
    "attachments_present": "TEXT",  # JSON [{kind, sha256, slot}]
    "attachments_used": "TEXT",  # JSON [sha256]
    "probability": "REAL",
    "decision": "TEXT",  # JSON: estimates, multipliers, reason, masked
    "observation": "TEXT",  # JSON list of floats
    "fallback": "TEXT",
    "backend": "TEXT",
    "model": "TEXT",
    "expected_latency_s": "REAL",
    "expected_cost_usd": "REAL",
    "ttft_s": "REAL",
    "latency_s": "REAL",
    "cost_usd": "REAL",
    "energy_j": "REAL",
    "prompt_tokens": "INTEGER",
    "completion_tokens": "INTEGER",
    "finish_reason": "TEXT",
    "usage_estimated": "INTEGER",  # 1: token counts and cost estimated (no usage came back)
    "budget_remaining": "TEXT",  # JSON fractions after the turn
    "weights": "TEXT",  # JSON reward weights
}

RATING_COLUMNS: dict[str, str] = {
    "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "turn_id": "INTEGER NOT NULL REFERENCES turns(id)",
    "session_id": "TEXT",
    "ts": "REAL NOT NULL",
    "thumbs": "INTEGER",  # 1 up, -1 down, NULL none
    "stars": "INTEGER",  # 1..5 or NULL
    "reward": "REAL",  # what the online update was given
}

class SessionStore:
    """Thread- and process-safe append-mostly log on any database URL (see app/database.py).

    `path` is a SQLite file path (as before) or a SQLAlchemy URL such as
    `postgresql://user@host/db`; every operation is its own short transaction.
    """

    def __init__(self, path: str | Path) -> None:
        self.url = database_url(path)
        self.path = sqlite_file(self.url)  # None on a database server
        self.engine = engine_for(self.url)
        meta = sa.MetaData()
        self._turns = sa.Table("turns", meta, autoload_with=self.engine)
        self._ratings = sa.Table("ratings", meta, autoload_with=self.engine)

    def log_turn(self, row: dict[str, Any]) -> int:
        """Insert one turn; JSON-encodes dicts/lists; returns its id."""
        row = {k: _encode(v) for k, v in row.items() if k in TURN_COLUMNS and k != "id"}
        row.setdefault("ts", time.time())
        _check_no_secret(row)
        with self.engine.begin() as db:
            return int(db.execute(self._turns.insert().values(**row)).inserted_primary_key[0])

    def log_rating(self, turn_id: int, session_id: str, thumbs: int | None,
                   stars: int | None, reward: float | None) -> int:
        values = {"turn_id": turn_id, "session_id": session_id, "ts": time.time(),
                  "thumbs": thumbs, "stars": stars, "reward": reward}
        with self.engine.begin() as db:
            return int(db.execute(self._ratings.insert().values(**values))
                       .inserted_primary_key[0])

    def turn(self, turn_id: int) -> dict[str, Any] | None:
        with self.engine.begin() as db:
            r = db.execute(self._turns.select().where(self._turns.c.id == turn_id)).first()
            return dict(r._mapping) if r else None

    def rows(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """Turns with their latest rating joined in, oldest first."""
        q = ("SELECT t.*, r.thumbs AS rating_thumbs, r.stars AS rating_stars, "
             "r.reward AS rating_reward FROM turns t LEFT JOIN ratings r ON r.id = "
             "(SELECT MAX(id) FROM ratings WHERE turn_id = t.id)")
        args: dict[str, Any] = {}
        if session_id is not None:
            q += " WHERE t.session_id = :sid"
            args = {"sid": session_id}
        with self.engine.begin() as db:
            return [dict(r._mapping) for r in db.execute(sa.text(q + " ORDER BY t.id"), args)]

    def session_lengths(self) -> dict[int, int]:
        """How many logged sessions reached each number of turns (rejected turns not counted,
        as `Session.turn_index` does not count them): the pacing's dialogue lengths."""
        q = ("SELECT n, COUNT(*) AS c FROM (SELECT session_id, COUNT(*) AS n FROM turns "
             "WHERE status IS NULL OR status != 'rejected' GROUP BY session_id) AS s GROUP BY n")
        with self.engine.begin() as db:
            return {int(n): int(c) for n, c in db.execute(sa.text(q))}

    def ratings(self) -> list[dict[str, Any]]:
        with self.engine.begin() as db:
            return [dict(r._mapping) for r in
                    db.execute(self._ratings.select().order_by(self._ratings.c.id))]

    def export(self, fmt: str, session_id: str | None = None) -> str:
        """The log as CSV or JSONL text (one session, or everything)."""
        rows = self.rows(session_id)
        if fmt == "jsonl":
            return "".join(json.dumps(_decode_row(r)) + "\n" for r in rows)
        if fmt == "csv":
            buf = io.StringIO()
            fields = list(TURN_COLUMNS) + ["rating_thumbs", "rating_stars", "rating_reward"]
            writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
            return buf.getvalue()
        raise ValueError(f"unknown export format {fmt!r}; use 'csv' or 'jsonl'")


def _encode(v: Any) -> Any:
    """JSON for containers; numpy scalars as Python numbers (sqlite would store bytes);
    text that cannot be UTF-8 (a lone surrogate) is stored with "?" in its place."""
    if isinstance(v, str):
        return v.encode("utf-8", "replace").decode("utf-8")
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, default=_json_default)
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        return v.item()
    return v


def _json_default(v: Any) -> Any:
    if hasattr(v, "tolist"):
        return v.tolist()
    return float(v)


def _decode_row(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for k in ("attachments_present", "attachments_used", "decision", "observation",
              "budget_remaining", "weights"):
        if isinstance(out.get(k), str):
            try:
                out[k] = json.loads(out[k])
            except json.JSONDecodeError:
                pass
    return out


def _check_no_secret(row: dict[str, Any]) -> None:
    """Defence in depth: a configured key or URL login must never reach the log, even inside
    an error."""
    from backends.config import get_settings
    from backends.redact import redact_text, url_secrets

    settings = get_settings()
    key = settings.openai_api_key
    hidden = [key.get_secret_value() if key is not None else "",
               *url_secrets(settings.openai_base_url)]
    for k, v in row.items():
        if isinstance(v, str):
            row[k] = redact_text(v, hidden)
