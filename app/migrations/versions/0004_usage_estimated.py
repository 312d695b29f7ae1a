"""Whether a turn's token counts (and so its cost) were estimated because the endpoint sent
no `usage`: the log says so instead of passing an estimate off as a bill.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("usage_estimated", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("usage_estimated")
