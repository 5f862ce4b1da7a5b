"""Every Prometheus metric the bot exposes at GET /metrics, defined here and nowhere else.

Counters and histograms are counted where things happen (Slack requests, Slack and Together calls, tracker
ticks, launch outcomes). Gauges that describe the database (the outbox, pending requests, endpoints, what
they cost) are read from it when Prometheus scrapes, one query each, by `bot.exposition`: never per request.

Several processes (`bot run` and `bot tracker`) each serve their own /metrics; Prometheus sums them. Where
several worker processes serve one port, PROMETHEUS_MULTIPROC_DIR makes prometheus_client keep the
counters in shared files and `bot.exposition` reads them all (the multi-process mode of prometheus_client).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger(__name__)

SLACK_REQUEST_KINDS = ("command", "action", "view_submission", "options", "event")
SLACK_OUTCOMES = ("ok", "user_error", "error")
LAUNCH_OUTCOMES = ("created", "failed", "rejected", "expired")
# The audit action that ends a launch request, and the outcome it counts as.
LAUNCH_ACTIONS = {
    "launched": "created",
    "launch_failed": "failed",
    "rejected": "rejected",
    "expired": "expired",
}

SLACK_REQUESTS = Counter(
    "endpoint_bot_slack_requests",
    "Requests from Slack handled, by kind and by what the person got: ok, user_error (told what to fix) "
    "or error (something failed on the bot's side).",
    ["kind", "outcome"],
)
SLACK_ACK_SECONDS = Histogram(
    "endpoint_bot_slack_ack_seconds",
    "Time from receiving a Slack request to acknowledging it (Slack gives up after 3 seconds).",
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0),
)
SLACK_API_CALLS = Counter(
    "endpoint_bot_slack_api_calls",
    "Slack Web API calls the bot made, by method and outcome (ok, Slack's error code, or unreachable).",
    ["method", "outcome"],
)
OUTBOX_FAILURES = Counter(
    "endpoint_bot_outbox_failures",
    "Slack updates from the outbox whose delivery failed (retried later, or set aside after permanent errors).",
)
TOGETHER_CALLS = Counter(
    "endpoint_bot_together_calls",
    "HTTP calls to Together (each attempt), by operation and HTTP status (or `unreachable`).",
    ["operation", "status"],
)
TOGETHER_CALL_SECONDS = Histogram(
    "endpoint_bot_together_call_seconds",
    "Duration of each HTTP call to Together.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
TRACKER_TICK_SECONDS = Histogram(
    "endpoint_bot_tracker_tick_seconds",
    "Duration of one tracker tick (asking Together for every followed endpoint and recording changes).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
TRACKER_LAST_SUCCESS = Gauge(
    "endpoint_bot_tracker_last_success_timestamp_seconds",
    "When the tracker last heard from Together and recorded what it saw (Unix time).",
    multiprocess_mode="max",
)
LAUNCHES = Counter(
    "endpoint_bot_launches",
    "Launch requests that ended, by outcome: created, failed, rejected, expired.",
    ["outcome"],
)

for _kind in SLACK_REQUEST_KINDS:
    for _outcome in SLACK_OUTCOMES:
        SLACK_REQUESTS.labels(_kind, _outcome)
for _outcome in LAUNCH_OUTCOMES:
    LAUNCHES.labels(_outcome)


# --- counting ------------------------------------------------------------------------------------


def count_slack_request(kind: str, outcome: str) -> None:
    SLACK_REQUESTS.labels(kind, outcome).inc()


def observe_ack(seconds: float) -> None:
    SLACK_ACK_SECONDS.observe(seconds)


def count_slack_call(method: str, outcome: str) -> None:
    SLACK_API_CALLS.labels(method, outcome).inc()


def count_outbox_failure() -> None:
    OUTBOX_FAILURES.inc()


def observe_together_call(method: str, path: str, status: int | str, seconds: float) -> None:
    TOGETHER_CALLS.labels(together_operation(method, path), str(status)).inc()
    TOGETHER_CALL_SECONDS.observe(seconds)


def observe_tracker_tick(seconds: float, *, succeeded: bool) -> None:
    TRACKER_TICK_SECONDS.observe(seconds)
    if succeeded:
        TRACKER_LAST_SUCCESS.set_to_current_time()


def count_audit_actions(actions: Iterable[str]) -> None:
    """Count the launch outcomes among audit actions just committed (the store calls this)."""
    for action in actions:
        outcome = LAUNCH_ACTIONS.get(action)
        if outcome is not None:
            LAUNCHES.labels(outcome).inc()


_VERBS_ON_COLLECTION = {"GET": "list", "POST": "create"}
_VERBS_ON_ITEM = {"GET": "get", "POST": "create", "PATCH": "update", "PUT": "update", "DELETE": "delete"}
_VERSION = re.compile(r"v\d+")


def together_operation(method: str, path: str) -> str:
    """A bounded label for a Together call, named like the API's resources: `GET /v1/endpoints/abc` ->
    `endpoints.get`, `POST /v2/projects/p/endpoints/e/deployments` -> `endpoints.deployments.create`."""
    parts = [p for p in path.split("?")[0].strip("/").split("/") if p]
    if parts and _VERSION.fullmatch(parts[0]):
        parts = parts[1:]
    if parts[:1] == ["projects"]:
        parts = parts[2:]
    if parts[:1] == ["public"]:
        parts = parts[1:]
    if not parts:
        return "other"
    names = parts[0::2]
    on_item = len(parts) % 2 == 0
    verb = (_VERBS_ON_ITEM if on_item else _VERBS_ON_COLLECTION).get(method.upper(), method.lower())
    if names == ["whoami"]:
        verb = "get"
    return ".".join([*names, verb])
