"""policy: the cost tier a request was asked in, several distinct approvals per request, request expiry

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("launch_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tier", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("approvals_needed", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("approval_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["launch_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "user_id", name="uq_approvals_request_user"),
    )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approvals_request_id"), ["request_id"], unique=False)

    # Requests approved before this migration had their one approval in `decisions` only.
    op.execute(
        "INSERT INTO approvals (request_id, team_id, user_id, note, approved_at) "
        "SELECT request_id, team_id, user_id, note, decided_at FROM decisions WHERE decision = 'approved'"
    )
    op.execute(
        "UPDATE launch_requests SET approval_count = 1 "
        "WHERE id IN (SELECT request_id FROM decisions WHERE decision = 'approved')"
    )


def downgrade() -> None:
    # The code before this revision knows no "expired": such requests were not launched, as if rejected.
    op.execute("UPDATE launch_requests SET status = 'rejected' WHERE status = 'expired'")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approvals_request_id"))
    op.drop_table("approvals")
    with op.batch_alter_table("launch_requests", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("approval_count")
        batch_op.drop_column("approvals_needed")
        batch_op.drop_column("tier")
