"""The `lessons` table (app/migrations/versions/0005, `rater` 0006): what ratings taught, kept
in the session store's database so that the preference book (`policies.preferences`) is
rebuilt on restart, and a turn teaches once even across restarts and replicas (`turn_id` is
unique). `rater` is a hash of the client address (`app.online.rater_of`), never the address."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from app.database import engine_for

LESSON_COLUMNS: dict[str, str] = {
    "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "turn_id": "INTEGER NOT NULL UNIQUE",
    "session_id": "TEXT NOT NULL",
    "policy": "TEXT NOT NULL",
    "task": "INTEGER NOT NULL",
    "action": "INTEGER NOT NULL",
    "residual": "REAL NOT NULL",  # rating − the policy's estimate, 0..2 scale
    "source": "TEXT NOT NULL",  # rating | overrule
    "ts": "REAL NOT NULL",
    "rater": "TEXT",  # who taught it, pooled in the shared prior; NULL: its session
}


class LessonStore:
    """Append-only lessons on the store's database URL (migrated by `engine_for`)."""

    def __init__(self, url: str) -> None:
        self.engine = engine_for(url)
        self._table = sa.Table("lessons", sa.MetaData(), autoload_with=self.engine)

    def add(self, turn_id: int, session_id: str, policy: str, task: int, action: int,
            residual: float, source: str, rater: str = "") -> int | None:
        """Store a lesson and return its id; None if that turn has taught already (here or
        in a replica)."""
        row = {"turn_id": int(turn_id), "session_id": session_id, "policy": policy,
               "task": int(task), "action": int(action), "residual": float(residual),
               "source": source, "ts": time.time(), "rater": rater or None}
        try:
            with self.engine.begin() as db:
                return int(db.execute(self._table.insert().values(**row)).inserted_primary_key[0])
        except sa.exc.IntegrityError:
            return None

    def since(self, last_id: int = 0) -> list[dict[str, Any]]:
        """Lessons with an id above `last_id`, oldest first (a restart reads them all)."""
        t = self._table
        with self.engine.begin() as db:
            return [dict(r._mapping) for r in
                    db.execute(t.select().where(t.c.id > last_id).order_by(t.c.id))]
