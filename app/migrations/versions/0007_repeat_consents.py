"""Consents that carry a panel id already in the study (one person taking part again): what
the study's rule did with each (refused, or admitted and flagged), for the researcher. The
index makes the check, run inside the consent's transaction, a lookup.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repeat_consents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("external_id", sa.Text, nullable=False),
        sa.Column("first_participant", sa.Text, nullable=False),
        sa.Column("participant", sa.Text, nullable=True),  # the new one, if admitted
        sa.Column("decision", sa.Text, nullable=False),  # refused | admitted
        sa.Column("ts", sa.Float, nullable=False))
    op.create_index("participants_external_id", "participants", ["external_id"])


def downgrade() -> None:
    op.drop_index("participants_external_id", "participants")
    op.drop_table("repeat_consents")
