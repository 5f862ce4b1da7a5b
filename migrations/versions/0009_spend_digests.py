"""the weekly spend digest: one row per week, claimed by one process and marked posted

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spend_digests",
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("week"),
    )


def downgrade() -> None:
    op.drop_table("spend_digests")
