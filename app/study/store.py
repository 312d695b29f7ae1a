"""The study's own tables, in the same database as the engine's turn log (a SQLite file
or a PostgreSQL server several app replicas share; app/database.py).

The engine logs every turn (decision, model, costs, latency: what the participant must
never see) to `turns` through `SessionStore`; this module adds who took part, under which
condition order, what they typed (written the moment they press Enter, before any answer
exists), their ratings, comments and questionnaire answers. Every action is committed at
once, so a closed browser or a restarted server loses nothing. Assignment is decided in
the database: a new participant's transaction locks the `participants` counter row, so
the balance holds across every process writing to it.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.store import SessionStore

RepeatRule = Literal["refuse", "flag"]

PARTICIPANT_EXPORT = ["participant", "seq", "created", "conditions", "answered", "rated",
                      "last_active", "questionnaire_ts", "external_id", "study_ref",
                      "session_ref", "consent_version", "outcome", "ended_ts",
                      "attention_answered", "attention_failed", "excluded", "repeat_of"]
REPEAT_EXPORT = ["external_id", "first_participant", "participant", "decision", "ts"]
VOTE_EXPORT = ["id", "participant", "turn", "left_condition", "right_condition", "left_turn",
               "right_turn", "vote", "winner", "rating_left", "rating_right", "ts"]
# What the researcher's turn export holds: the study's view joined with the hidden log.
TURN_EXPORT = ["study_turn", "participant", "turn", "task", "condition", "side", "status",
               "prompt", "files", "answer", "rating", "comment", "submitted_ts", "answered_ts",
               "rated_ts", "session_id",
               "policy", "location", "model", "attachments_used", "probability", "fallback",
               "ttft_s", "latency_s", "cost_usd", "energy_j", "prompt_tokens",
               "completion_tokens", "log_turn_id"]


class StudyStore:
    """Participants, their turns, ratings and questionnaire answers; thread- and
    process-safe (every method is one transaction)."""

    def __init__(self, path: str | Path,
                 excluded: Callable[[int], bool] = lambda failed: False) -> None:
        """`excluded(attention checks failed)`: the study's rule (config.attention_rule)."""
        self.excluded = excluded
        self.log = SessionStore(path)  # the engine's `turns` table, same database
        self.url, self.path, self.engine = self.log.url, self.log.path, self.log.engine
        meta = sa.MetaData()
        self.t = {name: sa.Table(name, meta, autoload_with=self.engine)
                  for name in ("study_meta", "participants", "study_turns", "study_ratings",
                               "questionnaire", "study_counters", "attention_answers", "votes",
                               "repeat_consents")}

    def _rows(self, query: str, **args: Any) -> list[dict[str, Any]]:
        with self.engine.begin() as db:
            return [dict(r._mapping) for r in db.execute(sa.text(query), args)]

    def _insert_once(self, table: str, **values: Any) -> bool:
        """Insert a row the table's unique key allows once; False if it is already there
        (a double click, a second tab, another replica)."""
        try:
            with self.engine.begin() as db:
                db.execute(self.t[table].insert().values(**values))
            return True
        except IntegrityError:
            return False

    # -- meta -----------------------------------------------------------------------------

    def secret(self, key: str) -> str:
        """A random value made once per study database (e.g. the browser-storage key), so
        it survives restarts, and every replica agrees on it, without any configuration."""
        meta = self.t["study_meta"]
        for _ in range(3):
            with self.engine.begin() as db:
                value = db.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()
            if value is not None:
                return str(value)
            try:
                with self.engine.begin() as db:
                    db.execute(meta.insert().values(key=key, value=secrets.token_urlsafe(24)))
            except IntegrityError:  # another replica made it first: read theirs
                pass
        raise RuntimeError(f"study_meta {key!r} could not be read or made")

    # -- participants ---------------------------------------------------------------------

    def create_participant(self, choose: Callable[[int, str, dict[str, int]], list[str]],
                           token_hash: str | None = None, repeats: RepeatRule | None = None,
                           **recruited: str | None) -> tuple[str | None, list[str]]:
        """A new anonymous participant and their condition order, assigned atomically:
        `choose(seq, id, counts of first conditions so far)` runs inside the transaction
        that holds the counter row's lock (PostgreSQL: SELECT ... FOR UPDATE; SQLite:
        BEGIN IMMEDIATE), so concurrent arrivals on any replica are decided one at a time.
        `token_hash` binds them to the browser that holds the matching secret token;
        `recruited`: external_id, study_ref, session_ref, consent_version.

        `repeats`: what to do when the panel's `external_id` is already in the study, decided
        under the same lock (so two replicas cannot both admit a person): "refuse" makes
        nobody and returns (None, []), "flag" admits them; both are recorded
        (`repeat_consents`). None: no check."""
        allowed = {"external_id", "study_ref", "session_ref", "consent_version"}
        extra = {k: _text(v.strip())[:200] if v and v.strip() else None
                 for k, v in recruited.items() if k in allowed}
        pid = "p-" + secrets.token_hex(8)  # 64 random bits: ids cannot be guessed
        counters, people = self.t["study_counters"], self.t["participants"]
        with self.engine.begin() as db:
            seq = db.execute(sa.select(counters.c.value).where(counters.c.name == "participants")
                             .with_for_update()).scalar_one()
            first = self._first_with(db, extra.get("external_id")) if repeats else None
            if first is not None:
                self._record_repeat(db, extra["external_id"], first,
                                    pid if repeats == "flag" else None)
                if repeats == "refuse":
                    return None, []
            counts: dict[str, int] = {}
            for (conditions,) in db.execute(sa.select(people.c.conditions)):
                first_condition = json.loads(conditions)[0]
                counts[first_condition] = counts.get(first_condition, 0) + 1
            order = choose(seq, pid, counts)
            now = time.time()
            db.execute(people.insert().values(id=pid, seq=seq, created=now, consent_ts=now,
                                              conditions=json.dumps(order),
                                              token_hash=token_hash, **extra))
            db.execute(counters.update().where(counters.c.name == "participants")
                       .values(value=seq + 1))
        return pid, order

    def _first_with(self, db: sa.Connection, external_id: str | None) -> str | None:
        """The earliest participant who arrived with this panel id (None: nobody, or no id)."""
        if not external_id:
            return None
        people = self.t["participants"]
        return db.execute(sa.select(people.c.id).where(people.c.external_id == external_id)
                          .order_by(people.c.seq).limit(1)).scalar()

    def _record_repeat(self, db: sa.Connection, external_id: str, first: str,
                       admitted: str | None) -> None:
        db.execute(self.t["repeat_consents"].insert().values(
            external_id=external_id, first_participant=first, participant=admitted,
            decision="admitted" if admitted else "refused", ts=time.time()))

    def repeats(self) -> list[dict[str, Any]]:
        """Every consent that carried a panel id already in the study, oldest first."""
        return self._rows("SELECT external_id, first_participant, participant, decision, ts "
                          "FROM repeat_consents ORDER BY id")

    def participant_for(self, token_hash: str | None) -> str | None:
        """The participant bound to a browser token's hash, if any."""
        if not token_hash or not isinstance(token_hash, str):
            return None
        people = self.t["participants"]
        with self.engine.begin() as db:
            pid = db.execute(sa.select(people.c.id)
                             .where(people.c.token_hash == token_hash)).scalar()
        return str(pid) if pid is not None else None

    def participant(self, pid: str | None) -> dict[str, Any] | None:
        if not pid or not isinstance(pid, str):
            return None
        rows = self._rows("SELECT * FROM participants WHERE id = :pid", pid=pid)
        if not rows:
            return None
        out = rows[0]
        out.pop("token_hash", None)  # never leaves the store
        out["conditions"] = json.loads(out["conditions"])
        return out

    def participants(self) -> list[dict[str, Any]]:
        """One summary row per participant, for the researcher's table."""
        rows = self._rows(
            """SELECT p.id AS participant, p.seq, p.created, p.conditions, p.questionnaire_ts,
                      p.external_id, p.study_ref, p.session_ref, p.consent_version, p.outcome,
                      p.ended_ts,
                      (SELECT COUNT(*) FROM attention_answers a WHERE a.participant = p.id)
                         AS attention_answered,
                      (SELECT COUNT(*) FROM attention_answers a WHERE a.participant = p.id
                         AND a.correct = 0) AS attention_failed,
                      (SELECT COUNT(*) FROM study_turns t WHERE t.participant = p.id
                         AND t.status = 'answered') AS answered,
                      (SELECT COUNT(*) FROM study_ratings r WHERE r.participant = p.id) AS rated,
                      (SELECT MAX(submitted_ts) FROM study_turns t WHERE t.participant = p.id)
                         AS last_active,
                      (SELECT MIN(x.first_participant) FROM repeat_consents x
                         WHERE x.participant = p.id) AS repeat_of
               FROM participants p ORDER BY p.seq""")
        for r in rows:
            r["conditions"] = " → ".join(json.loads(r["conditions"]))
            r["excluded"] = int(self.excluded(r["attention_failed"]))
        return rows

    # -- turns ----------------------------------------------------------------------------

    def start_turn(self, pid: str, turn: int, task: int, condition: str, prompt: str,
                   files: list[str], side: str | None = None) -> int:
        """Record what the participant sent, before any answer exists (`side`: "A" left /
        "B" right in pairwise mode)."""
        values = {"participant": pid, "turn": turn, "task": task, "condition": condition,
                  "prompt": _text(prompt), "files": json.dumps(files),
                  "submitted_ts": time.time(), "status": "pending", "side": side}
        with self.engine.begin() as db:
            return int(db.execute(self.t["study_turns"].insert().values(**values))
                       .inserted_primary_key[0])

    def finish_turn(self, study_turn: int, status: str, answer: str, turn_id: int | None) -> None:
        turns = self.t["study_turns"]
        with self.engine.begin() as db:
            db.execute(turns.update().where(turns.c.id == study_turn).values(
                status=status, answer=_text(answer), answered_ts=time.time(), turn_id=turn_id))

    def interrupt_pending(self, pid: str) -> list[dict[str, Any]]:
        """Turns left 'pending' by a restart: mark them so the participant can resend."""
        turns = self.t["study_turns"]
        where = sa.and_(turns.c.participant == pid, turns.c.status == "pending")
        with self.engine.begin() as db:
            rows = [dict(r._mapping) for r in db.execute(turns.select().where(where))]
            if rows:
                db.execute(turns.update().where(where).values(status="interrupted"))
        return rows

    def turns(self, pid: str) -> list[dict[str, Any]]:
        """A participant's turns with their rating, oldest first."""
        return self._rows("SELECT t.*, r.rating, r.comment FROM study_turns t LEFT JOIN "
                          "study_ratings r ON r.study_turn = t.id WHERE t.participant = :pid "
                          "ORDER BY t.id", pid=pid)

    # -- ratings and questionnaire ---------------------------------------------------------

    def rate(self, pid: str, study_turn: int, rating: int, comment: str) -> bool:
        """Store a rating once per answered turn of this participant; False otherwise."""
        turns, ratings = self.t["study_turns"], self.t["study_ratings"]
        try:
            with self.engine.begin() as db:
                row = db.execute(sa.select(turns.c.participant, turns.c.status)
                                 .where(turns.c.id == study_turn)).first()
                if row is None or row.participant != pid or row.status != "answered":
                    return False
                db.execute(ratings.insert().values(study_turn=study_turn, participant=pid,
                                                   rating=rating, comment=_text(comment),
                                                   ts=time.time()))
            return True
        except IntegrityError:  # already rated (a double click, a second tab)
            return False

    def answer_questionnaire(self, pid: str, answers: dict[str, str]) -> None:
        now = time.time()
        q, people = self.t["questionnaire"], self.t["participants"]
        with self.engine.begin() as db:
            db.execute(q.delete().where(sa.and_(q.c.participant == pid,
                                                q.c.item.in_(list(answers)))))
            for item, answer in answers.items():
                db.execute(q.insert().values(participant=pid, item=item, answer=_text(answer),
                                             ts=now))
            db.execute(people.update().where(people.c.id == pid).values(questionnaire_ts=now))

    def questionnaire(self, pid: str | None = None) -> list[dict[str, Any]]:
        if pid is None:
            return self._rows("SELECT * FROM questionnaire ORDER BY participant, item")
        return self._rows("SELECT * FROM questionnaire WHERE participant = :pid "
                          "ORDER BY participant, item", pid=pid)

    def vote(self, pid: str, turn: int, left: dict[str, Any], right: dict[str, Any], vote: str,
             rating_left: int | None, rating_right: int | None) -> bool:
        """One vote per compared pair (left/right: their study_turns rows); False if the
        pair was already voted on."""
        winner = {"A": left["condition"], "B": right["condition"]}.get(vote)
        return self._insert_once(
            "votes", participant=pid, turn=turn, left_condition=left["condition"],
            right_condition=right["condition"], left_turn=left["id"], right_turn=right["id"],
            vote=vote, winner=winner, rating_left=rating_left, rating_right=rating_right,
            ts=time.time())

    def votes(self, pid: str | None = None) -> list[dict[str, Any]]:
        if pid is None:
            return self._rows("SELECT * FROM votes ORDER BY participant, turn")
        return self._rows("SELECT * FROM votes WHERE participant = :pid ORDER BY turn", pid=pid)

    def answer_attention(self, pid: str, item: str, answer: str, correct: bool) -> bool:
        """Record an attention-check answer once; False if it was already answered."""
        return self._insert_once("attention_answers", participant=pid, item=item,
                                 answer=_text(answer), correct=int(correct), ts=time.time())

    def attention(self, pid: str | None = None) -> list[dict[str, Any]]:
        if pid is None:
            return self._rows("SELECT * FROM attention_answers ORDER BY participant, ts")
        return self._rows("SELECT * FROM attention_answers WHERE participant = :pid "
                          "ORDER BY ts", pid=pid)

    def end(self, pid: str, outcome: str) -> None:
        """The participant's session is over: 'complete' or 'screened_out' (kept once)."""
        people = self.t["participants"]
        with self.engine.begin() as db:
            db.execute(people.update().where(sa.and_(people.c.id == pid,
                                                     people.c.outcome.is_(None)))
                       .values(outcome=outcome, ended_ts=time.time()))

    # -- the researcher's data -------------------------------------------------------------

    def turn_rows(self) -> list[dict[str, Any]]:
        """Every study turn joined with its rating and the hidden decision/cost log."""
        return self._rows(
            """SELECT s.id AS study_turn, s.participant, s.turn, s.task, s.condition, s.side,
                      s.status, s.prompt, s.files,
                      s.answer, r.rating, r.comment, s.submitted_ts, s.answered_ts,
                      r.ts AS rated_ts, l.session_id, l.policy, l.location, l.model,
                      l.attachments_used, l.probability, l.fallback, l.ttft_s, l.latency_s,
                      l.cost_usd, l.energy_j, l.prompt_tokens, l.completion_tokens,
                      l.id AS log_turn_id
               FROM study_turns s LEFT JOIN study_ratings r ON r.study_turn = s.id
               LEFT JOIN turns l ON l.id = s.turn_id ORDER BY s.participant, s.id""")

    def export(self, fmt: str) -> dict[str, str]:
        """Everything, as {file name: text}: three CSV tables, or one JSONL whose records
        say which table they come from."""
        tables = {"participants": self.participants(), "turns": self.turn_rows(),
                  "votes": self.votes(), "questionnaire": self.questionnaire(),
                  "attention": self.attention(), "repeats": self.repeats()}
        if fmt == "jsonl":
            lines = [json.dumps({"record": name.removesuffix("s"), **row})
                     for name, rows in tables.items() for row in rows]
            return {"study.jsonl": "".join(line + "\n" for line in lines)}
        if fmt != "csv":
            raise ValueError(f"unknown export format {fmt!r}; use 'csv' or 'jsonl'")
        fields = {"participants": PARTICIPANT_EXPORT, "turns": TURN_EXPORT,
                  "questionnaire": ["participant", "item", "answer", "ts"],
                  "attention": ["participant", "item", "answer", "correct", "ts"],
                  "votes": VOTE_EXPORT, "repeats": REPEAT_EXPORT}
        out: dict[str, str] = {}
        for name, rows in tables.items():
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=fields[name], extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
            out[f"study-{name}.csv"] = buf.getvalue()
        return out


def _text(value: str | None) -> str | None:
    """Text as the database can store it (a lone surrogate becomes '?')."""
    return None if value is None else str(value).encode("utf-8", "replace").decode("utf-8")
