"""replicas with each recorded state: the ready count (v2) and the replica bounds in force, for the cost meter

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("endpoint_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ready_replicas", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("min_replicas", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_replicas", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("endpoint_states", schema=None) as batch_op:
        batch_op.drop_column("max_replicas")
        batch_op.drop_column("min_replicas")
        batch_op.drop_column("ready_replicas")
