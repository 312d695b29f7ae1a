"""The session log: one SQLite row per turn, one per rating, exportable as CSV or JSONL.

What is stored: the decision (action, probability, estimates, multipliers, reason), the
observation the policy saw, costs, latency, the prompt and answer text, ratings and the
sha256 of every attachment. What is never stored: API keys, file paths, file contents.
Columns `participant` and `condition` are there for the later study mode.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
    """Thread-safe append-mostly log; one connection per operation keeps threads apart."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._conn() as db:
            db.execute(f"CREATE TABLE IF NOT EXISTS turns ({_cols(TURN_COLUMNS)})")
            db.execute(f"CREATE TABLE IF NOT EXISTS ratings ({_cols(RATING_COLUMNS)})")
            # Older logs gain new columns instead of failing (open schema for later modes).
            for table, cols in (("turns", TURN_COLUMNS), ("ratings", RATING_COLUMNS)):
                have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
                for name, decl in cols.items():
                    if name not in have:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {name} "
                                   f"{decl.split(' REFERENCES')[0].replace(' NOT NULL', '')}")

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = sqlite3.connect(self.path, timeout=30)
            db.row_factory = sqlite3.Row
            try:
                yield db
                db.commit()
            finally:
                db.close()

    def log_turn(self, row: dict[str, Any]) -> int:
        """Insert one turn; JSON-encodes dicts/lists; returns its id."""
        row = {k: _encode(v) for k, v in row.items() if k in TURN_COLUMNS and k != "id"}
        row.setdefault("ts", time.time())
        _check_no_secret(row)
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._conn() as db:
            cur = db.execute(f"INSERT INTO turns ({names}) VALUES ({marks})", list(row.values()))
            return int(cur.lastrowid)

    def log_rating(self, turn_id: int, session_id: str, thumbs: int | None,
                   stars: int | None, reward: float | None) -> int:
        with self._conn() as db:
            cur = db.execute(
                "INSERT INTO ratings (turn_id, session_id, ts, thumbs, stars, reward) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (turn_id, session_id, time.time(), thumbs, stars, reward))
            return int(cur.lastrowid)

    def turn(self, turn_id: int) -> dict[str, Any] | None:
        with self._conn() as db:
            r = db.execute("SELECT * FROM turns WHERE id = ?", (turn_id,)).fetchone()
            return dict(r) if r else None

    def rows(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """Turns with their latest rating joined in, oldest first."""
        q = ("SELECT t.*, r.thumbs AS rating_thumbs, r.stars AS rating_stars, "
             "r.reward AS rating_reward FROM turns t LEFT JOIN ratings r ON r.id = "
             "(SELECT MAX(id) FROM ratings WHERE turn_id = t.id)")
        args: tuple[Any, ...] = ()
        if session_id is not None:
            q += " WHERE t.session_id = ?"
            args = (session_id,)
        with self._conn() as db:
            return [dict(r) for r in db.execute(q + " ORDER BY t.id", args)]

    def ratings(self) -> list[dict[str, Any]]:
        with self._conn() as db:
            return [dict(r) for r in db.execute("SELECT * FROM ratings ORDER BY id")]

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


def _cols(cols: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in cols.items())


def _encode(v: Any) -> Any:
    """JSON for containers; numpy scalars as Python numbers (sqlite would store bytes)."""
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
    """Defence in depth: a configured key must never reach the log, even inside an error."""
    from backends.config import get_settings

    key = get_settings().openai_api_key
    secret = key.get_secret_value() if key is not None else ""
    for k, v in row.items():
        if isinstance(v, str) and secret and secret in v:
            row[k] = v.replace(secret, "[redacted]")
