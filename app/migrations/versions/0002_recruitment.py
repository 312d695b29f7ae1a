"""Recruiting and attention checks: panel ids, consent version and outcome per
participant; one row per attention-check answer.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NEW_PARTICIPANT_COLUMNS = [("external_id", sa.Text), ("study_ref", sa.Text),
                           ("session_ref", sa.Text), ("consent_version", sa.Text),
                           ("outcome", sa.Text), ("ended_ts", sa.Float)]


def upgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        for name, kind in NEW_PARTICIPANT_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "attention_answers",
        sa.Column("participant", sa.Text, primary_key=True),
        sa.Column("item", sa.Text, primary_key=True),
        sa.Column("answer", sa.Text),
        sa.Column("correct", sa.Integer, nullable=False),
        sa.Column("ts", sa.Float, nullable=False))


def downgrade() -> None:
    op.drop_table("attention_answers")
    with op.batch_alter_table("participants") as batch:
        for name, _ in reversed(NEW_PARTICIPANT_COLUMNS):
            batch.drop_column(name)
