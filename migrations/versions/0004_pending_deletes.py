"""endpoint deletions waiting for Together to stop the endpoint first: who asked, when

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 23:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delete_requested_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("delete_requested_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.drop_column("delete_requested_at")
        batch_op.drop_column("delete_requested_by")
