"""launch claims, outbox claims, tracking problems

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 20:04:21.373522
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("problem", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("problem_since", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("launch_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("launch_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")

    with op.batch_alter_table("launch_requests", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("launch_attempts")

    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.drop_column("problem_since")
        batch_op.drop_column("problem")
