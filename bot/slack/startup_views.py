"""Thread replies about a start: the first replica serving (v2) and the smoke test's result (issue 13)."""

from __future__ import annotations

from typing import Any

from bot.domain.model import LaunchRequest
from bot.domain.progress import minutes_text
from bot.slack.text import code, escape, mention, truncate


def startup_reply(request: LaunchRequest, payload: dict[str, Any]) -> str:
    if payload.get("event") == "first_replica":
        return first_replica_text(payload)
    return smoke_text(request, payload)


def first_replica_text(payload: dict[str, Any]) -> str:
    ready, desired = int(payload.get("ready_replicas") or 0), int(payload.get("desired_replicas") or 0)
    return (
        f":large_green_circle: The first replica serves ({ready} of {desired} ready after "
        f"{minutes_text(float(payload.get('elapsed_seconds') or 0))}). {code(payload.get('name') or '')} "
        "already answers requests; the others are still starting."
    )


def seconds(ms: Any) -> str:
    return f"{int(ms) / 1000:.2f} s" if isinstance(ms, int | float) else "?"


def smoke_text(request: LaunchRequest, payload: dict[str, Any]) -> str:
    name = code(payload.get("name") or "")
    if payload.get("ok"):
        return (
            f":white_check_mark: Smoke test passed: {name} answered a tiny request. "
            f"First token after {seconds(payload.get('ttft_ms'))}, complete after {seconds(payload.get('total_ms'))}."
        )
    where = f"HTTP {payload['status']}" if payload.get("status") else "no answer"
    tag = f", {escape(str(payload['code']))}" if payload.get("code") else ""
    who = mention(payload.get("requester") or request.requested_by)
    return (
        f":warning: {who} Smoke test failed: {name} is up but did not answer a tiny request. "
        f"Together said ({where}{tag}):\n> {escape(truncate(str(payload.get('message') or ''), 1000))}\n"
        f"{escape(str(payload.get('advice') or ''))}"
    )
