"""change requests (a scale or start that raises the cost ceiling waits for approvals like a launch),
and when each endpoint was last seen at Together (the meter stops there when it is gone)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("launch_requests") as batch:
        batch.add_column(sa.Column("change_of", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("change_kind", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("previous_min_replicas", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("previous_max_replicas", sa.Integer(), nullable=True))
        batch.create_index("ix_launch_requests_change_of", ["change_of"])
    with op.batch_alter_table("endpoints") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # The code before this revision would take change requests for launches: their history moves to the
    # launch they changed, and they go.
    op.execute("UPDATE launch_requests SET status = 'rejected' WHERE status = 'withdrawn'")
    changes = "SELECT id FROM launch_requests WHERE change_of IS NOT NULL"
    op.execute(
        "UPDATE audit_events SET request_id = (SELECT change_of FROM launch_requests "
        f"WHERE launch_requests.id = audit_events.request_id) WHERE request_id IN ({changes})"
    )
    for table in ("outbox", "approvals", "decisions"):
        op.execute(f"DELETE FROM {table} WHERE request_id IN ({changes})")
    op.execute("DELETE FROM launch_requests WHERE change_of IS NOT NULL")
    with op.batch_alter_table("endpoints") as batch:
        batch.drop_column("last_seen_at")
    with op.batch_alter_table("launch_requests") as batch:
        batch.drop_index("ix_launch_requests_change_of")
        batch.drop_column("previous_max_replicas")
        batch.drop_column("previous_min_replicas")
        batch.drop_column("change_kind")
        batch.drop_column("change_of")
