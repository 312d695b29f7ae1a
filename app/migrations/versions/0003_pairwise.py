"""Pairwise mode: which side a turn's answer was shown on, and one vote per compared pair.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("study_turns") as batch:
        batch.add_column(sa.Column("side", sa.Text, nullable=True))  # "A" left, "B" right
    op.create_table(
        "votes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("participant", sa.Text, nullable=False),
        sa.Column("turn", sa.Integer, nullable=False),
        sa.Column("left_condition", sa.Text, nullable=False),
        sa.Column("right_condition", sa.Text, nullable=False),
        sa.Column("left_turn", sa.Integer), sa.Column("right_turn", sa.Integer),
        sa.Column("vote", sa.Text, nullable=False),  # A | B | tie | both_bad
        sa.Column("winner", sa.Text),  # the winning condition, NULL for tie / both bad
        sa.Column("rating_left", sa.Integer), sa.Column("rating_right", sa.Integer),
        sa.Column("ts", sa.Float, nullable=False),
        sa.UniqueConstraint("participant", "turn", name="uq_votes_participant_turn"))


def downgrade() -> None:
    op.drop_table("votes")
    with op.batch_alter_table("study_turns") as batch:
        batch.drop_column("side")
