"""Plain domain records: launch requests, endpoints, notifications. No SQL, no Slack, no HTTP."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class RequestStatus(enum.StrEnum):
    """A launch request's life in the bot. Transitions are compare-and-set in the store."""

    PENDING = "pending"  # waiting for an approver
    APPROVED = "approved"  # approved; the launcher will claim it
    LAUNCHING = "launching"  # claimed; the create call is under way (exactly one process gets here)
    LAUNCHED = "launched"  # Together accepted it; the endpoint is tracked
    REJECTED = "rejected"
    FAILED = "failed"  # Together refused, or the launch could not be completed
    EXPIRED = "expired"  # nobody decided within the policy's expire_after
    WITHDRAWN = "withdrawn"  # the requester called it off before anyone decided


@dataclass(frozen=True)
class LaunchDraft:
    """What the user asked for, as typed or chosen in the modal (already resolved to real ids)."""

    model: str
    hardware: str
    min_replicas: int
    max_replicas: int
    display_name: str | None = None
    inactive_timeout: int | None = None
    speculative_decoding: bool = True
    prompt_cache: bool = True
    start_now: bool = True


@dataclass(frozen=True)
class Approval:
    """One person's approval of a request (a tier may need several, from distinct people)."""

    user_id: str
    at: datetime
    note: str | None = None


@dataclass(frozen=True)
class LaunchRequest:
    id: int
    team_id: str
    channel_id: str
    requested_by: str
    draft: LaunchDraft
    cents_per_minute: float  # price per replica when requested
    status: RequestStatus
    requested_at: datetime
    message_ts: str | None = None
    decision: str | None = None  # "approved" | "rejected"
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    launched_at: datetime | None = None
    error_message: str | None = None
    error_code: str | None = None
    endpoint: EndpointRecord | None = None
    tier: str | None = None  # the policy's cost tier when it was asked for (None: no tiers)
    approvals_needed: int = 1  # distinct approvals it needs before it launches
    approvals: tuple[Approval, ...] = ()  # in the order they came
    expires_at: datetime | None = None  # pending past this, it expires (None: never)
    # A change request (see bot/domain/changes.py): the launch it changes, "scale" or "start", and the
    # replica bounds before it; None for a launch. `draft` holds the launch's settings with the new bounds.
    change_of: int | None = None
    change: str | None = None
    previous_replicas: tuple[int, int] | None = None

    @property
    def kind(self) -> str:
        """What approving it does, for messages: `launch`, or `change`."""
        return "change" if self.change_of is not None else "launch"

    @property
    def approved_by(self) -> str | None:
        return self.decided_by if self.decision == "approved" else None

    @property
    def approvers(self) -> list[str]:
        """Who approved it, in order: each approval, else the approving decision alone."""
        if self.approvals:
            return [a.user_id for a in self.approvals]
        return [self.approved_by] if self.approved_by else []

    @property
    def rejected_by(self) -> str | None:
        return self.decided_by if self.decision == "rejected" else None


@dataclass(frozen=True)
class EndpointRecord:
    id: str
    request_id: int
    name: str
    model: str
    hardware: str
    state: str
    state_changed_at: datetime
    created_at: datetime
    problem: str | None = None  # a tracking problem already reported in the thread
    # Settings changed after launch (None: as launched, see the request's draft).
    display_name: str | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    inactive_timeout: int | None = None
    deleted_at: datetime | None = None
    # A delete asked for and waiting for Together to stop the endpoint first (v2).
    delete_requested_by: str | None = None
    delete_requested_at: datetime | None = None
    next_reminder_at: datetime | None = None  # when the "still running" reminder is next due
    last_seen_at: datetime | None = None  # when Together last listed or showed it
    # A start in progress (v2 events; None otherwise): see bot/domain/progress.py.
    startup_phase: str | None = None
    startup_ready: int | None = None
    startup_desired: int | None = None
    startup_since: datetime | None = None
    startup_seen_at: datetime | None = None
    progress_card_at: datetime | None = None
    progress_pending: bool = False
    first_serving_at: datetime | None = None


@dataclass(frozen=True)
class Notification:
    """Something to show in Slack, written in the same transaction as the change it reports.

    kind "card": re-render the request's card from current state (post it if it has no ts yet).
    kind "thread": post a reply in the card's thread; `payload["event"]` says which.
    """

    id: int
    request_id: int
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0


@dataclass(frozen=True)
class Observation:
    """One row of an endpoint's state history: from `at` on, it was in `state`."""

    state: str
    at: datetime
    ready_replicas: int | None = None  # replicas serving, where the API says (v2); None: not reported
    min_replicas: int | None = None  # the replica bounds in force then; None: not recorded (older rows)
    max_replicas: int | None = None
