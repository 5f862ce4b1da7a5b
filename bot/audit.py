"""`bot audit`: who asked for, approved, rejected and launched what, and when."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.domain.cost.meter import Meter, duration_text
from bot.domain.cost.spend import SpendReport
from bot.domain.cost.spend_views import SpendView
from bot.domain.model import LaunchRequest
from bot.store import Store


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def audit_rows(store: Store, *, with_events: bool = True) -> list[dict[str, Any]]:
    rows = []
    for request in store.requests():
        rows.append(_row(store, request, with_events))
    return rows


def final_state(request: LaunchRequest, events: list[dict[str, Any]]) -> str | None:
    """The endpoint's state, or how the bot stopped following it: RETIRED (its `bot shell` session
    ended), DELETED (deleted through the bot) or GONE (Together no longer knew it: deleted outside)."""
    endpoint = request.endpoint
    if endpoint is None:
        return None
    if endpoint.deleted_at is None:
        return endpoint.state
    actions = {e["action"] for e in events}
    if "retired" in actions:
        return "RETIRED"
    return "DELETED" if "deleted" in actions else "GONE"


def _row(store: Store, request: LaunchRequest, with_events: bool) -> dict[str, Any]:
    d = request.draft
    endpoint = request.endpoint
    events = store.events(request.id) if with_events or (endpoint and endpoint.deleted_at) else []
    row: dict[str, Any] = {
        "request_id": request.id,
        "team_id": request.team_id,
        "channel_id": request.channel_id,
        "message_ts": request.message_ts,
        "requested_by": request.requested_by,
        "approved_by": request.approved_by,
        "rejected_by": request.rejected_by,
        "decision_note": request.decision_note,
        "status": request.status.value,
        "endpoint_id": endpoint.id if endpoint else None,
        "endpoint_name": endpoint.name if endpoint else None,
        "model": d.model,
        "hardware": d.hardware,
        "min_replicas": d.min_replicas,
        "max_replicas": d.max_replicas,
        "display_name": d.display_name,
        "inactive_timeout": d.inactive_timeout,
        "cents_per_minute": request.cents_per_minute,
        "state": final_state(request, events),
        "change_of": request.change_of,  # a change request: the launch whose endpoint it changes
        "change": request.change,
        "requested_at": _iso(request.requested_at),
        "approved_at": _iso(request.decided_at) if request.approved_by else None,
        "rejected_at": _iso(request.decided_at) if request.rejected_by else None,
        "launched_at": _iso(request.launched_at),
        "error": request.error_message,
        "tier": request.tier,
        "approvals_needed": request.approvals_needed,
        "approvals": [{"user": a.user_id, "at": _iso(a.at), "note": a.note} for a in request.approvals],
        "expires_at": _iso(request.expires_at),
    }
    if with_events:
        row["events"] = [
            {
                "action": e["action"],
                "actor": e["actor"],
                "at": _iso(e["at"]),
                "endpoint_id": e["endpoint_id"],
                **({"detail": e["detail"]} if e["detail"] else {}),
            }
            for e in events
        ]
    return row


def audit_json(store: Store) -> str:
    return json.dumps(audit_rows(store), indent=2)


COLUMNS = [
    ("#", "request_id"),
    ("requested by", "requested_by"),
    ("approved by", "approved_by"),
    ("rejected by", "rejected_by"),
    ("model", "model"),
    ("hardware", "hardware"),
    ("replicas", "replicas"),
    ("status", "status"),
    ("state", "state"),
    ("endpoint", "endpoint_id"),
    ("requested at", "requested_at"),
]


def audit_table(store: Store) -> str:
    rows = audit_rows(store, with_events=False)
    if not rows:
        return "No launch requests yet."
    cells = []
    for row in rows:
        approvers = ",".join(a["user"] for a in row["approvals"]) if row["approved_by"] else None
        row = dict(row, replicas=f"{row['min_replicas']}-{row['max_replicas']}", approved_by=approvers)
        cells.append([str(row[key]) if row[key] is not None else "-" for _, key in COLUMNS])
    widths = [max(len(title), *(len(c[i]) for c in cells)) for i, (title, _) in enumerate(COLUMNS)]
    lines = ["  ".join(title.ljust(w) for (title, _), w in zip(COLUMNS, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)) for cell in cells]
    return "\n".join(lines)


# --- bot spend ------------------------------------------------------------------------------------


def spend_rows(report: SpendReport) -> dict[str, Any]:
    """The spend report as data: dollars as [low, high] (equal where the data decides), seconds serving."""

    def money(meter: Meter) -> dict[str, Any]:
        return {
            "serving_seconds": int(meter.serving.total_seconds()),
            "cost": [round(meter.low, 2), round(meter.high, 2)],
        }

    return {
        "since": _iso(report.since),
        "until": _iso(report.until),
        "total": money(report.total),
        "endpoints": [
            {
                "request_id": line.request_id,
                "endpoint_id": line.endpoint_id,
                "display_name": line.name,
                "requested_by": line.requested_by,
                **money(line.meter),
            }
            for line in report.lines
        ],
        "people": [
            {"user": user, "endpoints": count, **money(meter)} for user, meter, count in report.by_person
        ],
    }


def spend_table(report: SpendReport) -> str:
    lines = [f"Spend from {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC"]
    whole = report.total
    lines.append(f"Total: {whole.cost_text()} over {duration_text(whole.serving)} serving")
    if not report.lines:
        return "\n".join(lines)
    lines.append("")
    lines.append("By endpoint:")
    for line in report.lines:
        lines.append(
            f"  {line.name} ({line.endpoint_id}), asked by {line.requested_by}: "
            f"{duration_text(line.meter.serving)}, {line.meter.cost_text()}"
        )
    lines.append("By person:")
    for user, meter, count in report.by_person:
        lines.append(f"  {user}: {count} endpoint(s), {duration_text(meter.serving)}, {meter.cost_text()}")
    if not report.exact:
        lines.append("A range runs from the fewest to the most replicas allowed (v1 does not report them).")
    return "\n".join(lines)


def spend_view_rows(view: SpendView) -> dict[str, Any]:
    """A breakdown as data: dollars as [low, high] (equal where the data decides), seconds serving."""
    return {
        "since": _iso(view.window.since),
        "until": _iso(view.window.until),
        "by": view.by,
        "total": {"serving_seconds": view.serving_seconds, "cost": [c / 100 for c in view.cents]},
        "groups": [
            {
                view.by: g.key,
                "endpoints": g.endpoints,
                "serving_seconds": g.serving_seconds,
                "cost": [c / 100 for c in g.cents],
            }
            for g in view.groups()
        ],
    }


def spend_view_table(view: SpendView, label: Callable[[str], str] = str) -> str:
    w = view.window
    lines = [f"Spend by {view.by}, {w.label} ({w.since:%Y-%m-%d %H:%M} to {w.until:%Y-%m-%d %H:%M} UTC)"]
    lines.append(
        f"Total: {view.total_text} over {duration_text(timedelta(seconds=view.serving_seconds))} serving"
    )
    for g in view.groups():
        name = label(g.key)
        shown = name if name == g.key else f"{name} ({g.key})"
        lines.append(
            f"  {shown}: {g.endpoints} endpoint(s), "
            f"{duration_text(timedelta(seconds=g.serving_seconds))}, {g.cost_text}"
        )
    if not view.exact:
        lines.append("A range runs from the fewest to the most replicas allowed (v1 does not report them).")
    return "\n".join(lines)
