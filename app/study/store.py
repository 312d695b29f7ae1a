"""The study's own tables, in the same SQLite file as the engine's turn log.

The engine logs every turn (decision, model, costs, latency: what the participant must
never see) to `turns` through `SessionStore`; this module adds who took part, under which
condition order, what they typed (written the moment they press Enter, before any answer
exists), their ratings, comments and questionnaire answers. Every action is committed at
once, so a closed browser or a restarted server loses nothing.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.store import SessionStore

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS study_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS participants (
        id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, created REAL NOT NULL,
        consent_ts REAL NOT NULL, conditions TEXT NOT NULL, questionnaire_ts REAL,
        token_hash TEXT UNIQUE)""",
    """CREATE TABLE IF NOT EXISTS study_turns (
        id INTEGER PRIMARY KEY AUTOINCREMENT, participant TEXT NOT NULL REFERENCES participants(id),
        turn INTEGER NOT NULL, task INTEGER NOT NULL, condition TEXT NOT NULL,
        prompt TEXT, files TEXT, submitted_ts REAL NOT NULL,
        status TEXT NOT NULL, answer TEXT, answered_ts REAL, turn_id INTEGER)""",
    """CREATE TABLE IF NOT EXISTS study_ratings (
        study_turn INTEGER PRIMARY KEY REFERENCES study_turns(id), participant TEXT NOT NULL,
        rating INTEGER NOT NULL, comment TEXT, ts REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS questionnaire (
        participant TEXT NOT NULL, item TEXT NOT NULL, answer TEXT, ts REAL NOT NULL,
        PRIMARY KEY (participant, item))""",
]

# What the researcher's turn export holds: the study's view joined with the hidden log.
TURN_EXPORT = ["participant", "turn", "task", "condition", "status", "prompt", "files", "answer",
               "rating", "comment", "submitted_ts", "answered_ts", "rated_ts", "session_id",
               "policy", "location", "model", "attachments_used", "probability", "fallback",
               "ttft_s", "latency_s", "cost_usd", "energy_j", "prompt_tokens",
               "completion_tokens", "log_turn_id"]


class StudyStore:
    """Participants, their turns, ratings and questionnaire answers; thread-safe."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.log = SessionStore(self.path)  # the engine's `turns` table, same file
        self._lock = threading.Lock()
        with self._conn() as db:
            for stmt in SCHEMA:
                db.execute(stmt)
            have = {r[1] for r in db.execute("PRAGMA table_info(participants)")}
            if "token_hash" not in have:  # a study file from before browser binding
                db.execute("ALTER TABLE participants ADD COLUMN token_hash TEXT")

    @contextmanager
    def _conn(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.row_factory = sqlite3.Row
            try:
                db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            finally:
                db.close()

    # -- meta -----------------------------------------------------------------------------

    def secret(self, key: str) -> str:
        """A random value made once per study file (e.g. the browser-storage key), so it
        survives restarts without anyone having to configure it."""
        with self._conn(immediate=True) as db:
            row = db.execute("SELECT value FROM study_meta WHERE key = ?", (key,)).fetchone()
            if row:
                return str(row["value"])
            value = secrets.token_urlsafe(24)
            db.execute("INSERT INTO study_meta (key, value) VALUES (?, ?)", (key, value))
            return value

    # -- participants ---------------------------------------------------------------------

    def create_participant(self, choose: Callable[[int, str, dict[str, int]], list[str]],
                           token_hash: str | None = None) -> tuple[str, list[str]]:
        """A new anonymous participant and their condition order, assigned atomically:
        `choose(seq, id, counts of first conditions so far)` runs inside the transaction.
        `token_hash` binds them to the browser that holds the matching secret token."""
        pid = "p-" + secrets.token_hex(8)  # 64 random bits: ids cannot be guessed
        with self._conn(immediate=True) as db:
            seq = db.execute("SELECT COUNT(*) FROM participants").fetchone()[0]
            counts: dict[str, int] = {}
            for r in db.execute("SELECT conditions FROM participants"):
                first = json.loads(r["conditions"])[0]
                counts[first] = counts.get(first, 0) + 1
            order = choose(seq, pid, counts)
            now = time.time()
            db.execute("INSERT INTO participants (id, seq, created, consent_ts, conditions, "
                       "token_hash) VALUES (?, ?, ?, ?, ?, ?)",
                       (pid, seq, now, now, json.dumps(order), token_hash))
        return pid, order

    def participant_for(self, token_hash: str | None) -> str | None:
        """The participant bound to a browser token's hash, if any."""
        if not token_hash or not isinstance(token_hash, str):
            return None
        with self._conn() as db:
            r = db.execute("SELECT id FROM participants WHERE token_hash = ?",
                           (token_hash,)).fetchone()
        return str(r["id"]) if r else None

    def participant(self, pid: str | None) -> dict[str, Any] | None:
        if not pid or not isinstance(pid, str):
            return None
        with self._conn() as db:
            r = db.execute("SELECT * FROM participants WHERE id = ?", (pid,)).fetchone()
        if r is None:
            return None
        out = dict(r)
        out.pop("token_hash", None)  # never leaves the store
        out["conditions"] = json.loads(out["conditions"])
        return out

    def participants(self) -> list[dict[str, Any]]:
        """One summary row per participant, for the researcher's table."""
        q = """SELECT p.id AS participant, p.seq, p.created, p.conditions,
                      p.questionnaire_ts,
                      (SELECT COUNT(*) FROM study_turns t WHERE t.participant = p.id
                         AND t.status = 'answered') AS answered,
                      (SELECT COUNT(*) FROM study_ratings r WHERE r.participant = p.id) AS rated,
                      (SELECT MAX(submitted_ts) FROM study_turns t WHERE t.participant = p.id)
                         AS last_active
               FROM participants p ORDER BY p.seq"""
        with self._conn() as db:
            rows = [dict(r) for r in db.execute(q)]
        for r in rows:
            r["conditions"] = " → ".join(json.loads(r["conditions"]))
        return rows

    # -- turns ----------------------------------------------------------------------------

    def start_turn(self, pid: str, turn: int, task: int, condition: str, prompt: str,
                   files: list[str]) -> int:
        """Record what the participant sent, before any answer exists."""
        with self._conn() as db:
            cur = db.execute(
                "INSERT INTO study_turns (participant, turn, task, condition, prompt, files, "
                "submitted_ts, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
                (pid, turn, task, condition, prompt, json.dumps(files), time.time()))
            return int(cur.lastrowid)

    def finish_turn(self, study_turn: int, status: str, answer: str, turn_id: int | None) -> None:
        with self._conn() as db:
            db.execute("UPDATE study_turns SET status = ?, answer = ?, answered_ts = ?, "
                       "turn_id = ? WHERE id = ?",
                       (status, answer, time.time(), turn_id, study_turn))

    def interrupt_pending(self, pid: str) -> list[dict[str, Any]]:
        """Turns left 'pending' by a restart: mark them so the participant can resend."""
        with self._conn() as db:
            rows = [dict(r) for r in db.execute(
                "SELECT * FROM study_turns WHERE participant = ? AND status = 'pending'", (pid,))]
            db.execute("UPDATE study_turns SET status = 'interrupted' WHERE participant = ? "
                       "AND status = 'pending'", (pid,))
        return rows

    def turns(self, pid: str) -> list[dict[str, Any]]:
        """A participant's turns with their rating, oldest first."""
        with self._conn() as db:
            return [dict(r) for r in db.execute(
                "SELECT t.*, r.rating, r.comment FROM study_turns t LEFT JOIN study_ratings r "
                "ON r.study_turn = t.id WHERE t.participant = ? ORDER BY t.id", (pid,))]

    # -- ratings and questionnaire ---------------------------------------------------------

    def rate(self, pid: str, study_turn: int, rating: int, comment: str) -> bool:
        """Store a rating once per answered turn of this participant; False otherwise."""
        with self._conn(immediate=True) as db:
            row = db.execute("SELECT participant, status FROM study_turns WHERE id = ?",
                             (study_turn,)).fetchone()
            if row is None or row["participant"] != pid or row["status"] != "answered":
                return False
            cur = db.execute("INSERT OR IGNORE INTO study_ratings (study_turn, participant, "
                             "rating, comment, ts) VALUES (?, ?, ?, ?, ?)",
                             (study_turn, pid, rating, comment, time.time()))
            return cur.rowcount == 1

    def answer_questionnaire(self, pid: str, answers: dict[str, str]) -> None:
        now = time.time()
        with self._conn() as db:
            for item, answer in answers.items():
                db.execute("INSERT OR REPLACE INTO questionnaire (participant, item, answer, ts) "
                           "VALUES (?, ?, ?, ?)", (pid, item, answer, now))
            db.execute("UPDATE participants SET questionnaire_ts = ? WHERE id = ?", (now, pid))

    def questionnaire(self, pid: str | None = None) -> list[dict[str, Any]]:
        q, args = "SELECT * FROM questionnaire", ()
        if pid is not None:
            q, args = q + " WHERE participant = ?", (pid,)
        with self._conn() as db:
            return [dict(r) for r in db.execute(q + " ORDER BY participant, item", args)]

    # -- the researcher's data -------------------------------------------------------------

    def turn_rows(self) -> list[dict[str, Any]]:
        """Every study turn joined with its rating and the hidden decision/cost log."""
        q = """SELECT s.participant, s.turn, s.task, s.condition, s.status, s.prompt, s.files,
                      s.answer, r.rating, r.comment, s.submitted_ts, s.answered_ts,
                      r.ts AS rated_ts, l.session_id, l.policy, l.location, l.model,
                      l.attachments_used, l.probability, l.fallback, l.ttft_s, l.latency_s,
                      l.cost_usd, l.energy_j, l.prompt_tokens, l.completion_tokens,
                      l.id AS log_turn_id
               FROM study_turns s LEFT JOIN study_ratings r ON r.study_turn = s.id
               LEFT JOIN turns l ON l.id = s.turn_id ORDER BY s.participant, s.id"""
        with self._conn() as db:
            return [dict(r) for r in db.execute(q)]

    def export(self, fmt: str) -> dict[str, str]:
        """Everything, as {file name: text}: three CSV tables, or one JSONL whose records
        say which table they come from."""
        tables = {"participants": self.participants(), "turns": self.turn_rows(),
                  "questionnaire": self.questionnaire()}
        if fmt == "jsonl":
            lines = [json.dumps({"record": name.removesuffix("s"), **row})
                     for name, rows in tables.items() for row in rows]
            return {"study.jsonl": "".join(line + "\n" for line in lines)}
        if fmt != "csv":
            raise ValueError(f"unknown export format {fmt!r}; use 'csv' or 'jsonl'")
        fields = {"participants": ["participant", "seq", "created", "conditions", "answered",
                                   "rated", "last_active", "questionnaire_ts"],
                  "turns": TURN_EXPORT, "questionnaire": ["participant", "item", "answer", "ts"]}
        out: dict[str, str] = {}
        for name, rows in tables.items():
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=fields[name], extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
            out[f"study-{name}.csv"] = buf.getvalue()
        return out
