"""SQLAlchemy 2 typed mappings. Alembic (migrations/) owns the schema; tests build it through Alembic too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, also on SQLite (which keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class LaunchRequestRow(Base):
    __tablename__ = "launch_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    requested_by: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(255))
    hardware: Mapped[str] = mapped_column(String(128))
    min_replicas: Mapped[int] = mapped_column(Integer)
    max_replicas: Mapped[int] = mapped_column(Integer)
    display_name: Mapped[str | None] = mapped_column(String(255))
    inactive_timeout: Mapped[int | None] = mapped_column(Integer)
    speculative_decoding: Mapped[bool] = mapped_column(Boolean)
    prompt_cache: Mapped[bool] = mapped_column(Boolean)
    start_now: Mapped[bool] = mapped_column(Boolean)
    cents_per_minute: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)
    message_ts: Mapped[str | None] = mapped_column(String(32))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    launch_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_code: Mapped[str | None] = mapped_column(String(128))
    error_message: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # While LAUNCHING: how many create attempts were started, and until when the claimant owns the
    # launch. A claim that ran out means the process died mid-launch; recovery takes over.
    launch_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The policy's cost tier when it was asked for (NULL: no tiers), how many distinct approvals it needs,
    # and how many it has: every approval is a compare-and-set on that count, so of simultaneous
    # approvals each counts once and exactly one completes the request.
    tier: Mapped[str | None] = mapped_column(String(64))
    approvals_needed: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    approval_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Pending past this, the request expires (NULL: never).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A change request (NULL: a launch): the launch whose endpoint it changes, "scale" or "start", and the
    # replica bounds before it. Its own min/max_replicas are what it asks for; it is approved like a launch.
    change_of: Mapped[int | None] = mapped_column(Integer, index=True)
    change_kind: Mapped[str | None] = mapped_column(String(16))
    previous_min_replicas: Mapped[int | None] = mapped_column(Integer)
    previous_max_replicas: Mapped[int | None] = mapped_column(Integer)


class DecisionRow(Base):
    """How a request was decided, once: approved (by whoever gave the last approval it needed) or rejected.
    The unique key is a second guard against double decisions; each approval is in `approvals`."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("launch_requests.id"), unique=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(16))  # approved | rejected
    note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApprovalRow(Base):
    """One person's approval of a request; a person approves a request once (the unique key)."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("request_id", "user_id", name="uq_approvals_request_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("launch_requests.id"), index=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EndpointRow(Base):
    __tablename__ = "endpoints"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # Together's endpoint id
    request_id: Mapped[int] = mapped_column(ForeignKey("launch_requests.id"), unique=True)
    team_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    model: Mapped[str] = mapped_column(String(255))
    hardware: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(32))
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A tracking problem already reported in the thread (e.g. "unreachable"), so it is said once.
    problem: Mapped[str | None] = mapped_column(String(32))
    problem_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Settings changed after launch through the bot; NULL means "as the launch request asked".
    display_name: Mapped[str | None] = mapped_column(String(255))
    min_replicas: Mapped[int | None] = mapped_column(Integer)
    max_replicas: Mapped[int | None] = mapped_column(Integer)
    inactive_timeout: Mapped[int | None] = mapped_column(Integer)
    # A delete asked for and not finished yet (v2 stops an endpoint before it can be deleted): who, when.
    delete_requested_by: Mapped[str | None] = mapped_column(String(32))
    delete_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the "still running" reminder is next due while it serves (NULL: none scheduled, e.g. stopped).
    # Sending one is a compare-and-set on this column, so several processes send it once.
    next_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last time Together listed or showed it (the tracker's ticks). When it is found gone, the time
    # since is not known to have been served or not: the meter shows it as a range.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A start in progress (v2): the furthest replica's phase, replicas ready of desired, when the start
    # began and when this was seen; cleared once the endpoint settles (bot/domain/progress.py).
    startup_phase: Mapped[str | None] = mapped_column(String(32))
    startup_ready: Mapped[int | None] = mapped_column(Integer)
    startup_desired: Mapped[int | None] = mapped_column(Integer)
    startup_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    startup_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last card edit for progress, and whether a change waits for the next one (at most one per 10 s).
    progress_card_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progress_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    first_serving_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # "first replica serves" said
    # The smoke test (bot/domain/smoke.py): asked for when the endpoint comes up, claimed by one process
    # until `smoke_claimed_until`, done when `smoke_done_at` is not before `smoke_due_at`.
    smoke_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    smoke_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    smoke_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EndpointStateRow(Base):
    """Every state the bot saw an endpoint in, in order."""

    __tablename__ = "endpoint_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("endpoints.id"), index=True)
    state: Mapped[str] = mapped_column(String(32))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What the running-cost meter needs: replicas serving where the API reports them (v2), and the replica
    # bounds in force from then on (NULL in rows older than migration 0006). A scale adds a row too.
    ready_replicas: Mapped[int | None] = mapped_column(Integer)
    min_replicas: Mapped[int | None] = mapped_column(Integer)
    max_replicas: Mapped[int | None] = mapped_column(Integer)


class AuditEventRow(Base):
    """Who did what, when: requested, approved, rejected, launched, launch_failed, state_changed, ..."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("launch_requests.id"), index=True)
    endpoint_id: Mapped[str | None] = mapped_column(String(128))
    actor: Mapped[str] = mapped_column(String(64))  # a Slack user id, or "bot" / "together"
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxRow(Base):
    """Slack updates to deliver, written with the change they report (see bot/slack/publisher.py)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[int] = mapped_column(ForeignKey("launch_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # card | thread
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Which process is delivering it, and until when (several processes share the outbox).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DuplicateSightingRow(Base):
    """An endpoint outside the bot named like one the bot launched, already reported in that launch's thread."""

    __tablename__ = "duplicate_sightings"

    endpoint_id: Mapped[str] = mapped_column(String(128), primary_key=True)  # the other endpoint's id
    request_id: Mapped[int] = mapped_column(ForeignKey("launch_requests.id"), index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SpendDigestRow(Base):
    """The weekly spend digest, one row per week (the Monday it is due, in BOT_TIMEZONE): claimed by one
    process with a lease, then marked posted. The primary key makes the claim once-only across processes;
    a claim whose lease ran out without a post (the process died, or Slack refused) is taken over."""

    __tablename__ = "spend_digests"

    week: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, a Monday
    channel_id: Mapped[str] = mapped_column(String(32))
    claimed_by: Mapped[str] = mapped_column(String(64))
    claimed_until: Mapped[datetime] = mapped_column(UTCDateTime)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
