"""Thread replies about a start: the first replica serving (v2) and the smoke test's result (issue 13)."""

from __future__ import annotations

from typing import Any

from bot.domain.events import FirstReplica, SmokeTest
from bot.domain.model import LaunchRequest
from bot.domain.progress import minutes_text
from bot.slack.text import code, escape, mention, truncate


def first_replica_text(event: FirstReplica) -> str:
    ready, desired = event.ready_replicas or 0, event.desired_replicas or 0
    return (
        f":large_green_circle: The first replica serves ({ready} of {desired} ready after "
        f"{minutes_text(float(event.elapsed_seconds or 0))}). {code(event.name or '')} "
        "already answers requests; the others are still starting."
    )


def seconds(ms: Any) -> str:
    return f"{int(ms) / 1000:.2f} s" if isinstance(ms, int | float) else "?"


def smoke_text(request: LaunchRequest, event: SmokeTest) -> str:
    name = code(event.name or "")
    if event.ok:
        return (
            f":white_check_mark: Smoke test passed: {name} answered a tiny request. "
            f"First token after {seconds(event.ttft_ms)}, complete after {seconds(event.total_ms)}."
        )
    where = f"HTTP {event.status}" if event.status else "no answer"
    tag = f", {escape(str(event.code))}" if event.code else ""
    who = mention(event.requester or request.requested_by)
    return (
        f":warning: {who} Smoke test failed: {name} is up but did not answer a tiny request. "
        f"Together said ({where}{tag}):\n> {escape(truncate(str(event.message or ''), 1000))}\n"
        f"{escape(str(event.advice or ''))}"
    )
