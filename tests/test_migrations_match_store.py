"""A fresh database migrated by Alembic has exactly the columns the store writes: a column
added to `app/store.py` without a migration (as `usage_estimated` once was) fails here."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from app.database import migrate
from app.lessons import LESSON_COLUMNS
from app.store import RATING_COLUMNS, TURN_COLUMNS


def test_migrated_tables_have_the_stores_columns(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    try:
        migrate(engine)
        inspector = sa.inspect(engine)
        turns = {c["name"] for c in inspector.get_columns("turns")}
        ratings = {c["name"] for c in inspector.get_columns("ratings")}
        lessons = {c["name"] for c in inspector.get_columns("lessons")}
        unique = [u["column_names"] for u in inspector.get_unique_constraints("lessons")]
    finally:
        engine.dispose()
    assert turns == set(TURN_COLUMNS), (turns ^ set(TURN_COLUMNS))
    assert ratings == set(RATING_COLUMNS), (ratings ^ set(RATING_COLUMNS))
    assert lessons == set(LESSON_COLUMNS), (lessons ^ set(LESSON_COLUMNS))
    assert ["turn_id"] in unique, "a turn teaches once, enforced by the database"
