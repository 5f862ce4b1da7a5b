"""endpoint settings changed after launch: display name, replicas, auto-stop

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("min_replicas", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_replicas", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("inactive_timeout", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.drop_column("inactive_timeout")
        batch_op.drop_column("max_replicas")
        batch_op.drop_column("min_replicas")
        batch_op.drop_column("display_name")
