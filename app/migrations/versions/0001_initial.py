"""The chat log and the study tables as they were in SQLite before migrations existed.

A database made by the older code (tables present, no alembic_version) is adopted:
existing tables are kept and gain any missing column; new ones are created.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

T, F, I = sa.Text, sa.Float, sa.Integer  # noqa: E741


def _pk() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _tables() -> dict[str, list]:
    """Frozen DDL of revision 0001 (a fresh list each call: Columns belong to one table)."""
    text = ["participant", "condition", "policy", "prompt", "answer", "status", "error",
            "location", "attachments_present", "attachments_used", "decision", "observation",
            "fallback", "backend", "model", "finish_reason", "budget_remaining", "weights"]
    return {
        "turns": [_pk(), sa.Column("session_id", T, nullable=False),
                  sa.Column("turn_index", I, nullable=False), sa.Column("ts", F, nullable=False),
                  *[sa.Column(n, T) for n in text],
                  *[sa.Column(n, I) for n in ("action", "prompt_tokens", "completion_tokens")],
                  *[sa.Column(n, F) for n in ("probability", "expected_latency_s",
                                              "expected_cost_usd", "ttft_s", "latency_s",
                                              "cost_usd", "energy_j")]],
        "ratings": [_pk(), sa.Column("turn_id", I, nullable=False), sa.Column("session_id", T),
                    sa.Column("ts", F, nullable=False), sa.Column("thumbs", I),
                    sa.Column("stars", I), sa.Column("reward", F)],
        "study_meta": [sa.Column("key", T, primary_key=True),
                       sa.Column("value", T, nullable=False)],
        "participants": [sa.Column("id", T, primary_key=True),
                         sa.Column("seq", I, nullable=False, unique=True),
                         sa.Column("created", F, nullable=False),
                         sa.Column("consent_ts", F, nullable=False),
                         sa.Column("conditions", T, nullable=False),
                         sa.Column("questionnaire_ts", F),
                         sa.Column("token_hash", T, unique=True)],
        "study_turns": [_pk(), sa.Column("participant", T, nullable=False),
                        sa.Column("turn", I, nullable=False), sa.Column("task", I, nullable=False),
                        sa.Column("condition", T, nullable=False), sa.Column("prompt", T),
                        sa.Column("files", T), sa.Column("submitted_ts", F, nullable=False),
                        sa.Column("status", T, nullable=False), sa.Column("answer", T),
                        sa.Column("answered_ts", F), sa.Column("turn_id", I)],
        "study_ratings": [sa.Column("study_turn", I, primary_key=True, autoincrement=False),
                          sa.Column("participant", T, nullable=False),
                          sa.Column("rating", I, nullable=False), sa.Column("comment", T),
                          sa.Column("ts", F, nullable=False)],
        "questionnaire": [sa.Column("participant", T, primary_key=True),
                          sa.Column("item", T, primary_key=True), sa.Column("answer", T),
                          sa.Column("ts", F, nullable=False)],
        # One row per counter; the assignment locks 'participants' (SELECT ... FOR UPDATE)
        # so replicas hand out seq numbers and balance conditions one at a time.
        "study_counters": [sa.Column("name", T, primary_key=True),
                           sa.Column("value", I, nullable=False)],
    }


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for name, columns in _tables().items():
        if not inspector.has_table(name):
            op.create_table(name, *columns)
            continue
        have = {c["name"] for c in inspector.get_columns(name)}
        for col in columns:  # an older file: add what is missing, as nullable
            if col.name not in have:
                op.add_column(name, sa.Column(col.name, col.type, nullable=True))
    op.create_index("ix_turns_session", "turns", ["session_id"], if_not_exists=True)
    op.create_index("ix_study_turns_participant", "study_turns", ["participant"],
                    if_not_exists=True)
    count = bind.execute(sa.text("SELECT COUNT(*) FROM participants")).scalar() or 0
    bind.execute(sa.text("INSERT INTO study_counters (name, value) VALUES ('participants', :n)"),
                 {"n": count})


def downgrade() -> None:
    for name in reversed(list(_tables())):
        op.drop_table(name)
