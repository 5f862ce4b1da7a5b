"""Every Slack surface rendered from fixed inputs (a fixed clock, fixed ids) and compared with its JSON in
tests/slack/snapshots/, one file per surface. A change to what people see shows up as a diff there:
`pytest tests/slack --update-snapshots` rewrites the files, to be read and committed with the change.
Every snapshot is also one Slack accepts (the strict checker of bot/sandbox/block_kit_rules.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import pytest

from bot.domain.catalog import Catalog
from bot.domain.command import CreateCommand
from bot.domain.cost.meter import Meter
from bot.domain.cost.spend_views import DayRow, MonthSpend, SpendView, Window
from bot.domain.events import Event
from bot.domain.model import Approval, EndpointRecord, LaunchDraft, LaunchRequest, RequestStatus
from bot.domain.policy.access import Act
from bot.domain.policy.budget import BudgetUse
from bot.domain.policy.tiers import LaunchPolicy, People, Tier
from bot.domain.provider import EndpointInfo, HardwareOption
from bot.domain.running import Home, Listing, Managed, Status
from bot.sandbox.block_kit_rules import message_problems, view_problems
from bot.slack.metadata import EndpointActionMeta, LaunchFormMeta, RequestRef
from bot.slack.views.endpoints import confirm_modal, listing_blocks, status_blocks
from bot.slack.views.home import home_view
from bot.slack.views.launch_form import FormValues, launch_form
from bot.slack.views.renderer import Renderer
from bot.slack.views.spend import spend_blocks, spend_text
from bot.slack.views.thread import read_event

SNAPSHOTS = Path(__file__).parent / "snapshots"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # the fixed clock: every time below is relative to it
REQUESTER, APPROVER, SECOND, ADMIN = "UREQUESTER", "UAPPROVER1", "UAPPROVER2", "UADMIN"
CHANNEL = "C0LAUNCH"
MODEL, HARDWARE = "meta-llama/Llama-3-8b-chat-hf", "1x_nvidia_h100_80gb_sxm"
CATALOG = Catalog()
POLICY = LaunchPolicy.from_environment([APPROVER, SECOND], [ADMIN])
_PEOPLE = People((APPROVER, SECOND))
TIERED = LaunchPolicy(
    _PEOPLE,
    People((ADMIN,)),
    (Tier("small", 10.0, _PEOPLE), Tier("large", None, _PEOPLE, approvals=2, above=10.0)),
)
RENDERER = Renderer(CATALOG, POLICY)


# --- fixed inputs -------------------------------------------------------------------------------------


def request(status: RequestStatus = RequestStatus.PENDING, **extra: Any) -> LaunchRequest:
    draft = LaunchDraft(MODEL, HARDWARE, 1, 2, display_name="llama for the demo", inactive_timeout=60)
    fields: dict[str, Any] = {
        "id": 7,
        "team_id": "T0SIM",
        "channel_id": CHANNEL,
        "requested_by": REQUESTER,
        "draft": draft,
        "cents_per_minute": 5.0,
        "status": status,
        "requested_at": NOW - timedelta(hours=2),
        "message_ts": "1700000000.000100",
    }
    return LaunchRequest(**{**fields, **extra})


def endpoint(state: str = "STARTED", **extra: Any) -> EndpointRecord:
    fields: dict[str, Any] = {
        "id": "endpoint-0007",
        "request_id": 7,
        "name": "llama-8b-r7",
        "model": MODEL,
        "hardware": HARDWARE,
        "state": state,
        "state_changed_at": NOW - timedelta(minutes=30),
        "created_at": NOW - timedelta(hours=1),
    }
    return EndpointRecord(**{**fields, **extra})


def approved(state: str = "STARTED", **extra: Any) -> LaunchRequest:
    return request(
        RequestStatus.LAUNCHED,
        decision="approved",
        decided_by=APPROVER,
        decided_at=NOW - timedelta(hours=1),
        decision_note="go ahead",
        endpoint=endpoint(state, **extra),
    )


def managed() -> Managed:
    r = approved()
    assert r.endpoint is not None
    return Managed(r, r.endpoint, "llama for the demo", 1, 2, 60)


SPENT = Meter(timedelta(hours=3, minutes=12), 41.2, 41.2, (12.0, 12.0))
HARDWARE_OPTIONS = [
    HardwareOption(HARDWARE, "h100-80gb", 1, 80, 5.0, "available"),
    HardwareOption("2x_nvidia_h100_80gb_sxm", "h100-80gb", 2, 80, 10.0, "insufficient"),
]
CHANGE = request(
    RequestStatus.PENDING,
    id=9,
    change_of=7,
    change="scale",
    previous_replicas=(1, 2),
    draft=LaunchDraft(MODEL, HARDWARE, 2, 4),
)


def message(text: str, blocks: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {"text": text, "blocks": blocks} if blocks is not None else {"text": text}


def card(r: LaunchRequest, policy: LaunchPolicy = POLICY, spent: Meter | None = None) -> dict[str, Any]:
    return message(*Renderer(CATALOG, policy).card(r, spent))


def reply(r: LaunchRequest, payload: dict[str, Any]) -> dict[str, Any]:
    return message(*RENDERER.thread_message(r, read_event(payload)))


def launch_form_prefilled() -> dict[str, Any]:
    command = CreateCommand(model=MODEL, hardware=HARDWARE, min_replicas=1, max_replicas=2)
    values = FormValues.from_command(command, 60)
    meta = LaunchFormMeta(channel_id=CHANNEL, team_id="T0SIM").dump()
    return launch_form(values, catalog=CATALOG, hardware=HARDWARE_OPTIONS, metadata=meta, policy=POLICY)


def endpoint_status() -> dict[str, Any]:
    info = EndpointInfo(
        id="endpoint-0007",
        name="llama-8b-r7",
        model=MODEL,
        state="STARTED",
        display_name="llama for the demo",
        hardware=HARDWARE,
        min_replicas=1,
        max_replicas=2,
        owner="bot@example.com",
        created_at=NOW - timedelta(hours=1),
    )
    links = {7: "https://example.slack.com/archives/C0LAUNCH/p1700000000000100"}
    return message(*status_blocks(Status(info, managed(), SPENT), links))


def endpoint_list() -> dict[str, Any]:
    others = [EndpointInfo(id="endpoint-x0001", name="someone-else", model=MODEL, state="STOPPED")]
    listing = Listing([managed()], others, {"endpoint-0007": SPENT})
    return message(*listing_blocks(listing, "all", {}))


def confirm(act: Act) -> dict[str, Any]:
    meta = EndpointActionMeta(
        endpoint_id="endpoint-0007", act=act.value, user_id=REQUESTER, channel_id=CHANNEL
    )
    return confirm_modal(act, managed(), meta)


def home(*, admin: bool) -> dict[str, Any]:
    month = MonthSpend(
        mine=Meter(timedelta(hours=10), 120.0, 120.0),
        everyone=Meter(timedelta(hours=40), 480.0, 520.0),
        my_budget=500.0,
        total_budget=None,
        top=[(REQUESTER, Meter(timedelta(hours=10), 120.0, 120.0))] if admin else None,
    )
    waiting = [request(id=8, requested_by="USOMEONE")] if admin else []
    shown = Home(
        mine=[managed()], waiting=waiting, asked=[CHANGE], spent={"endpoint-0007": SPENT}, month=month
    )
    return home_view(shown, {})


def spend_answer() -> dict[str, Any]:
    window = Window(NOW - timedelta(days=7), NOW, "the last 7 days")
    row = DayRow(
        day=date(2026, 11, 28),
        request_id=7,
        endpoint_id="endpoint-0007",
        name="llama-8b-r7",
        requested_by=REQUESTER,
        channel_id=CHANNEL,
        model=MODEL,
        hardware=HARDWARE,
        serving_seconds=3 * 3600,
        replica_seconds=(3 * 3600, 6 * 3600),
        cents=(900, 1800),
    )
    view = SpendView(window, "person", [date(2026, 11, 28)], [row], {"endpoint-0007": "llama for the demo"})
    text = spend_text(view, None)
    return message(text, spend_blocks(text, "F0CHART", view))


RAN = {"ran_seconds": 3 * 3600 + 12 * 60, "cost": [41.2, 41.2]}
THREAD: dict[str, tuple[Callable[[], LaunchRequest], dict[str, Any]]] = {
    "approved": (request, {"event": "approved", "user": APPROVER, "note": "go ahead"}),
    "approved_one_of_two": (
        request,
        {
            "event": "approved",
            "user": APPROVER,
            "note": None,
            "count": 1,
            "needed": 2,
            "approvers": [APPROVER],
        },
    ),
    "rejected": (request, {"event": "rejected", "user": APPROVER, "note": "too big for a demo"}),
    "withdrawn": (request, {"event": "withdrawn", "user": REQUESTER}),
    "expired": (request, {"event": "expired", "requester": REQUESTER}),
    "launched": (
        approved,
        {"event": "launched", "endpoint_id": "endpoint-0007", "name": "llama-8b-r7", "state": "PENDING"},
    ),
    "launch_failed": (
        approved,
        {
            "event": "launch_failed",
            "status": 400,
            "code": "invalid_request",
            "message": "hardware not available",
            "hint": "Try other hardware.",
            "requester": REQUESTER,
        },
    ),
    "duplicate": (
        approved,
        {
            "event": "duplicate",
            "endpoint_id": "endpoint-0099",
            "name": "llama-8b-r7-b",
            "display_name": "llama for the demo",
            "state": "STARTED",
            "created_at": "2026-11-29T10:05:00+00:00",
            "launched": "endpoint-0007",
            "requester": REQUESTER,
            "approvers": [APPROVER],
        },
    ),
    "state_ready": (
        approved,
        {
            "event": "state",
            "state": "READY",
            "previous": "PROVISIONING",
            "endpoint_id": "endpoint-0007",
            "name": "llama-8b-r7",
            "requester": REQUESTER,
            "ready_replicas": 2,
            "desired_replicas": 2,
            "status_message": None,
            "came_up": True,
            "smoke_test": True,
        },
    ),
    "state_failed": (
        approved,
        {
            "event": "state",
            "state": "FAILED",
            "name": "llama-8b-r7",
            "requester": REQUESTER,
            "came_up": False,
        },
    ),
    "state_stopped": (
        approved,
        {"event": "state", "state": "STOPPED", "previous": "STOPPING", "name": "llama-8b-r7", **RAN},
    ),
    "unreachable": (approved, {"event": "unreachable", "minutes": 5, "message": "timed out", "status": None}),
    "reachable": (approved, {"event": "reachable", "state": "STARTED"}),
    "first_replica": (
        approved,
        {
            "event": "first_replica",
            "endpoint_id": "endpoint-0007",
            "name": "llama-8b-r7",
            "ready_replicas": 1,
            "desired_replicas": 2,
            "elapsed_seconds": 420,
        },
    ),
    "smoke_test_passed": (
        approved,
        {
            "event": "smoke_test",
            "name": "llama-8b-r7",
            "ok": True,
            "ttft_ms": 180,
            "total_ms": 950,
            "reply": "Hi",
        },
    ),
    "smoke_test_failed": (
        approved,
        {
            "event": "smoke_test",
            "name": "llama-8b-r7",
            "requester": REQUESTER,
            "advice": "Look at the endpoint in Together's console.",
            "ok": False,
            "status": 503,
            "code": "unavailable",
            "message": "no replica answered",
            "ttft_ms": None,
            "total_ms": None,
        },
    ),
    "reminder": (
        approved,
        {
            "event": "reminder",
            "requester": REQUESTER,
            "endpoint_id": "endpoint-0007",
            "display_name": "llama for the demo",
            "running_seconds": 8 * 3600,
            "cost": [43.2, 43.2],
            "hourly": [5.4, 5.4],
            "interval_hours": 8.0,
            "escalate_to": [APPROVER],
        },
    ),
    "kept_running": (approved, {"event": "kept_running", "user": REQUESTER, "interval_hours": 8.0}),
    "action_stop": (
        approved,
        {
            "event": "action",
            "action": "stop",
            "user": REQUESTER,
            "state": "STOPPING",
            "display_name": "llama",
        },
    ),
    "action_scale": (
        approved,
        {
            "event": "action",
            "action": "scale",
            "user": REQUESTER,
            "state": "STARTED",
            "display_name": "llama",
            "min_replicas": 2,
            "max_replicas": 4,
            "previous": {"min_replicas": 1, "max_replicas": 2},
            "dollars_per_hour": [6.0, 12.0],
            "previous_dollars_per_hour": [3.0, 6.0],
        },
    ),
    "action_rename": (
        approved,
        {
            "event": "action",
            "action": "rename",
            "user": REQUESTER,
            "state": "STARTED",
            "display_name": "llama two",
            "previous": {"display_name": "llama"},
        },
    ),
    "action_delete_after_stop": (
        approved,
        {
            "event": "action",
            "action": "delete",
            "user": ADMIN,
            "state": "DELETED",
            "display_name": "llama",
            "after_stop": True,
            **RAN,
        },
    ),
    "action_failed": (
        approved,
        {
            "event": "action_failed",
            "action": "start",
            "user": REQUESTER,
            "status": 409,
            "code": "conflict",
            "message": "endpoint is busy",
            "hint": "Wait a minute and try again.",
        },
    ),
    "change_approved": (lambda: CHANGE, {"event": "approved", "user": APPROVER, "note": None}),
    "unreadable": (request, {"event": "no_such_event", "what": "a payload from a future version"}),
}

SURFACES: dict[str, Callable[[], dict[str, Any]]] = {
    "launch_form_prefilled": launch_form_prefilled,
    "card_pending": lambda: card(request()),
    "card_pending_tiered": lambda: card(
        request(tier="large", approvals_needed=2, approvals=(Approval(SECOND, NOW),)), TIERED
    ),
    "card_approved": lambda: card(
        request(RequestStatus.LAUNCHING, decision="approved", decided_by=APPROVER, decision_note="go ahead")
    ),
    "card_serving": lambda: card(approved(), spent=SPENT),
    "card_failed": lambda: card(
        request(RequestStatus.FAILED, decision="approved", decided_by=APPROVER, error_message="no capacity")
    ),
    "card_starting": lambda: card(
        approved(
            "PROVISIONING",
            startup_phase="LoadingWeights",
            startup_ready=1,
            startup_desired=2,
            startup_since=NOW - timedelta(minutes=6),
            startup_seen_at=NOW,
        )
    ),
    "change_card": lambda: card(CHANGE),
    "approve_modal": lambda: RENDERER.approve_modal(
        request(), RequestRef(request_id=7, channel_id=CHANNEL), [BudgetUse(REQUESTER, 500.0, SPENT)]
    ),
    "reject_modal": lambda: RENDERER.reject_modal(request(), RequestRef(request_id=7, channel_id=CHANNEL)),
    "endpoint_list": endpoint_list,
    "endpoint_status": endpoint_status,
    "confirm_stop": lambda: confirm(Act.STOP),
    "confirm_delete": lambda: confirm(Act.DELETE),
    "home_user": lambda: home(admin=False),
    "home_admin": lambda: home(admin=True),
    "spend_answer": spend_answer,
    **{f"thread_{kind}": (lambda r=r, p=p: reply(r(), p)) for kind, (r, p) in THREAD.items()},
}


def slack_problems(shown: dict[str, Any]) -> list[str]:
    if shown.get("type") in ("modal", "home"):
        return view_problems(shown)
    return message_problems(shown)


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_surface_matches_its_snapshot(name: str, update_snapshots: bool) -> None:
    shown = SURFACES[name]()
    assert slack_problems(shown) == []
    rendered = json.dumps(shown, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    path = SNAPSHOTS / f"{name}.json"
    if update_snapshots:
        path.write_text(rendered, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(
            f"No snapshot of {name!r} at {path}. Create it with `pytest tests/slack --update-snapshots`, "
            "read it, and commit it."
        )
    assert rendered == path.read_text(encoding="utf-8"), (
        f"{name} renders differently from {path.name}; if the change is meant, rewrite the snapshots with "
        "`pytest tests/slack --update-snapshots` and commit the diff"
    )


def test_every_snapshot_file_is_of_a_surface() -> None:
    """A snapshot left over from a surface that was renamed or removed would never be compared again."""
    assert sorted(p.stem for p in SNAPSHOTS.glob("*.json")) == sorted(SURFACES)


def test_every_kind_of_thread_event_has_a_snapshot() -> None:
    """A new event kind in bot.domain.events must show here how its reply reads."""
    kinds = {get_args(model.model_fields["event"].annotation)[0] for model in get_args(get_args(Event)[0])}
    shown = {payload["event"] for _request, payload in THREAD.values()}
    assert kinds <= shown, f"event kinds without a thread snapshot: {sorted(kinds - shown)}"
