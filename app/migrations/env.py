"""Alembic environment: always driven from app/database.py on a connection it passes in
(`python -c "from app.database import *; engine_for(database_url())"` upgrades a URL)."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through app.database.migrate(), which passes a connection")
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
