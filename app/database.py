"""One database for the chat log and the study, named by a URL (`LCIO_DATABASE_URL`).

A plain path or `sqlite:///…` is a SQLite file (the default: one process, or a few on one
machine); `postgresql://…` is a PostgreSQL server, which several app replicas can share.
Access is SQLAlchemy Core, the schema is Alembic's (`app/migrations/`), upgraded to the
newest revision when a store first opens a URL, under a lock so replicas starting
together migrate once. SQLite transactions start with BEGIN IMMEDIATE, so a
read-then-write (a participant's assignment) is one serialized unit, as it is under the
row lock PostgreSQL takes.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()
_MIGRATION_LOCK_ID = 0x4C43494F  # "LCIO": pg_advisory_xact_lock key for migrations


def database_url(path_or_url: str | Path | None = None, default: str | Path | None = None) -> str:
    """A SQLAlchemy URL from a URL, a file path, `LCIO_DATABASE_URL`, or the default path."""
    value = path_or_url or os.environ.get("LCIO_DATABASE_URL") or default
    if value is None:
        raise ValueError("no database given: set LCIO_DATABASE_URL or a path")
    text = str(value)
    if "://" not in text:
        path = Path(text).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if text.startswith(("postgresql://", "postgres://")):  # the psycopg 3 driver
        text = "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (None for a server or an in-memory database)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database).resolve()


def redacted(url: str) -> str:
    """The URL as it may be shown or logged: never its password."""
    return make_url(url).render_as_string(hide_password=True)


def engine_for(url: str) -> Engine:
    """The process's one engine per URL, its schema upgraded to the newest revision."""
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _make_engine(url)
            migrate(engine)
            _ENGINES[url] = engine
        return engine


def _make_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # SQLAlchemy's BEGIN below is the only one

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn) -> None:  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Alembic upgrade on one connection, holding a lock so concurrent starts queue."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def dispose_all() -> None:
    """Close every pooled connection (tests, and a process about to exit)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
