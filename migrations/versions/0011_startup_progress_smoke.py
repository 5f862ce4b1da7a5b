"""a start's progress on the card (v2 events) and the smoke test once an endpoint serves

Revision ID: 0011_startup_progress
Revises: 0010
Create Date: 2026-11-29 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_startup_progress"
down_revision = "0010"
branch_labels = None
depends_on = None

_TIMES = (
    "startup_since",
    "startup_seen_at",
    "progress_card_at",
    "first_serving_at",
    "smoke_due_at",
    "smoke_claimed_until",
    "smoke_done_at",
)


def upgrade() -> None:
    with op.batch_alter_table("endpoints") as batch:
        batch.add_column(sa.Column("startup_phase", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("startup_ready", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("startup_desired", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("progress_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        for name in _TIMES:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("endpoints") as batch:
        for name in reversed(_TIMES):
            batch.drop_column(name)
        for name in ("progress_pending", "startup_desired", "startup_ready", "startup_phase"):
            batch.drop_column(name)
