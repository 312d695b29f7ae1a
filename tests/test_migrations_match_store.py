"""A fresh database migrated by Alembic has exactly the columns the store writes: a column
added to `app/store.py` without a migration (as `usage_estimated` once was) fails here."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from app.database import migrate
from app.store import RATING_COLUMNS, TURN_COLUMNS


def test_migrated_tables_have_the_stores_columns(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    try:
        migrate(engine)
        inspector = sa.inspect(engine)
        turns = {c["name"] for c in inspector.get_columns("turns")}
        ratings = {c["name"] for c in inspector.get_columns("ratings")}
    finally:
        engine.dispose()
    assert turns == set(TURN_COLUMNS), (turns ^ set(TURN_COLUMNS))
    assert ratings == set(RATING_COLUMNS), (ratings ^ set(RATING_COLUMNS))
