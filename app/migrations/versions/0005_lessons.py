"""What ratings taught, one row per teaching turn, so that it is reloaded on restart: the
session, the policy, the (task, action) it was about and its residual (rating − estimate,
0..2 scale). `turn_id` is unique: a turn teaches once, across restarts and replicas.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lessons",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("turn_id", sa.Integer, nullable=False, unique=True),
        sa.Column("session_id", sa.Text, nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("task", sa.Integer, nullable=False),
        sa.Column("action", sa.Integer, nullable=False),
        sa.Column("residual", sa.Float, nullable=False),
        sa.Column("source", sa.Text, nullable=False),  # rating | overrule
        sa.Column("ts", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lessons")
