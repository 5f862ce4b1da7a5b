"""What a request's thread hears about: one model per event kind, told apart by the `event` field.

The domain queues these as outbox payloads (`Tx.reply`, `Tx.announce` in bot.store); the Slack layer
renders them. The shapes are those the domain has always written, so payloads already stored in a database
parse: fields that older payloads lack default to None, and fields a payload carries beyond those named
here (an act's extra audit facts) are kept, not refused.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class _Ran(_Event):
    """The final figures a stop or delete carries: time serving in all, what it cost (low, high), and the
    time between last seen serving and found gone, when it went away unseen."""

    ran_seconds: int | None = None
    cost: list[float] | None = None
    unseen_seconds: int | None = None


# --- deciding --------------------------------------------------------------------------------------


class Approved(_Event):
    """An approval; `count`, `needed` and `approvers` only where more than one approval is needed."""

    event: Literal["approved"] = "approved"
    user: str
    note: str | None = None
    count: int | None = None
    needed: int | None = None
    approvers: list[str] | None = None


class Rejected(_Event):
    event: Literal["rejected"] = "rejected"
    user: str
    note: str | None = None


class Withdrawn(_Event):
    event: Literal["withdrawn"] = "withdrawn"
    user: str | None = None


class Expired(_Event):
    event: Literal["expired"] = "expired"
    requester: str | None = None


# --- launching -------------------------------------------------------------------------------------


class Launched(_Event):
    event: Literal["launched"] = "launched"
    endpoint_id: str
    name: str
    state: str


class LaunchFailed(_Event):
    event: Literal["launch_failed"] = "launch_failed"
    status: int | None = None
    code: str | None = None
    message: str | None = None
    hint: str | None = None
    requester: str | None = None


class Duplicate(_Event):
    """Together lists another endpoint with the display name of the one the bot launched."""

    event: Literal["duplicate"] = "duplicate"
    endpoint_id: str | None = None
    name: str | None = None
    display_name: str | None = None
    state: str | None = None
    created_at: str | None = None
    launched: str | None = None
    requester: str | None = None
    approvers: list[str] | None = None


# --- following the endpoint ------------------------------------------------------------------------


class StateChanged(_Ran):
    """Together reports a new state. `came_up`: entering a serving state after a launch or start (not the
    end of a rescale); payloads written before it existed lack it."""

    event: Literal["state"] = "state"
    state: str
    previous: str | None = None
    endpoint_id: str | None = None
    name: str | None = None
    requester: str | None = None
    ready_replicas: int | None = None
    desired_replicas: int | None = None
    status_message: str | None = None
    came_up: bool | None = None
    smoke_test: bool | None = None


class Unreachable(_Event):
    """Together has not answered the tracker for a while (an outage)."""

    event: Literal["unreachable"] = "unreachable"
    minutes: int | None = None
    message: str | None = None
    status: int | None = None


class Reachable(_Event):
    """Together answers again after an outage."""

    event: Literal["reachable"] = "reachable"
    state: str | None = None


class FirstReplica(_Event):
    """Startup progress: the first of several replicas serves."""

    event: Literal["first_replica"] = "first_replica"
    endpoint_id: str | None = None
    name: str | None = None
    ready_replicas: int | None = None
    desired_replicas: int | None = None
    elapsed_seconds: int | None = None


class SmokeTest(_Event):
    """The one tiny request sent to an endpoint that came up: `ok`, its timings, or what went wrong."""

    event: Literal["smoke_test"] = "smoke_test"
    endpoint_id: str | None = None
    name: str | None = None
    requester: str | None = None
    advice: str | None = None
    ok: bool = False
    ttft_ms: int | None = None
    total_ms: int | None = None
    reply: str | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None


# --- reminders -------------------------------------------------------------------------------------


class Reminder(_Event):
    """An endpoint still runs after the reminder interval: its cost (low, high) so far and per hour."""

    event: Literal["reminder"] = "reminder"
    requester: str
    endpoint_id: str
    display_name: str | None = None
    running_seconds: int
    cost: list[float]
    hourly: list[float] | None = None
    interval_hours: float | None = None
    escalate_to: list[str] | None = None


class KeptRunning(_Event):
    event: Literal["kept_running"] = "kept_running"
    user: str
    interval_hours: float | None = None


# --- acts on a running endpoint --------------------------------------------------------------------


class ActionDone(_Ran):
    """A stop, start, scale, rename, auto-stop change or delete (`action`, a bot.domain.policy.access.Act value),
    with what Together reported and the settings it changed; `previous` holds those settings' old values."""

    event: Literal["action"] = "action"
    action: str
    user: str | None = None
    state: str | None = None
    display_name: str | None = None
    pending: bool | None = None  # a delete that waits for Together to stop the endpoint first
    after_stop: bool | None = None  # that delete, done once it stopped
    min_replicas: int | None = None
    max_replicas: int | None = None
    inactive_timeout: int | None = None
    dollars_per_hour: list[float] | None = None
    previous_dollars_per_hour: list[float] | None = None
    previous: dict[str, Any] | None = None


class ActionFailed(_Event):
    event: Literal["action_failed"] = "action_failed"
    action: str
    user: str | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    hint: str | None = None


Event = Annotated[
    Approved
    | Rejected
    | Withdrawn
    | Expired
    | Launched
    | LaunchFailed
    | Duplicate
    | StateChanged
    | Unreachable
    | Reachable
    | FirstReplica
    | SmokeTest
    | Reminder
    | KeptRunning
    | ActionDone
    | ActionFailed,
    Field(discriminator="event"),
]

_EVENTS: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(payload: dict[str, Any]) -> Event:
    """The typed event of a thread payload; pydantic's ValidationError when it is none of them."""
    return _EVENTS.validate_python(payload)


def thread_payload(event: Event) -> dict[str, Any]:
    """The JSON an event is queued as: the fields its emitter gave (None included), with its kind."""
    return {"event": event.event, **event.model_dump(mode="json", exclude_unset=True)}
