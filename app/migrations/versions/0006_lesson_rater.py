"""Who taught a lesson: a hash of the client address it came from, so that the shared prior
pools every session of one address as one rater (`policies.preferences`), on restart too.
Older lessons have none and stay their session's own rater.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lessons") as batch:
        batch.add_column(sa.Column("rater", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lessons") as batch:
        batch.drop_column("rater")
