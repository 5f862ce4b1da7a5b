"""endpoints outside the bot named like one it launched, reported once in that launch's thread

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 23:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duplicate_sightings",
        sa.Column("endpoint_id", sa.String(length=128), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["launch_requests.id"]),
        sa.PrimaryKeyConstraint("endpoint_id"),
    )
    op.create_index("ix_duplicate_sightings_request_id", "duplicate_sightings", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_duplicate_sightings_request_id", table_name="duplicate_sightings")
    op.drop_table("duplicate_sightings")
