"""Every Prometheus metric the bot exposes at GET /metrics, defined here and nowhere else.

Counters and histograms are counted where things happen (Slack requests, Slack and Together calls, tracker
ticks, launch outcomes). Gauges that describe the database (the outbox, pending requests, endpoints, what
they cost) are read from it when Prometheus scrapes, one query each, by `DatabaseGauges`: never per request.

Several processes (`bot run` and `bot tracker`) each serve their own /metrics; Prometheus sums them. Where
several worker processes serve one port, PROMETHEUS_MULTIPROC_DIR makes prometheus_client keep the
counters in shared files and `exposition()` reads them all (the multi-process mode of prometheus_client).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from bot.domain.clock import utcnow
from bot.domain.cost.meter import hourly_cost
from bot.domain.states import SERVING
from bot.store.gauges import GaugeQueries

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


# --- the database gauges -------------------------------------------------------------------------


class _Collector(Protocol):
    def collect(self) -> Iterable[Metric]: ...


class DatabaseGauges:
    """The gauges read from the database at scrape time: one query per gauge (the outbox's two share one)."""

    def __init__(self, queries: GaugeQueries) -> None:
        self.queries = queries

    def collect(self) -> Iterator[Metric]:
        try:
            yield from self._collect(utcnow())
        except Exception as exc:  # a scrape must still show the process's own counters
            log.warning("metrics: could not read the database gauges: %s", type(exc).__name__)

    def _collect(self, now: datetime) -> Iterator[Metric]:
        backlog = self.queries.outbox_backlog()
        yield GaugeMetricFamily(
            "endpoint_bot_outbox_pending",
            "Slack updates queued and not delivered yet.",
            value=backlog.pending,
        )
        age = (now - backlog.oldest).total_seconds() if backlog.oldest is not None else 0.0
        yield GaugeMetricFamily(
            "endpoint_bot_outbox_oldest_age_seconds",
            "Age of the oldest Slack update not delivered yet (0 when none waits).",
            value=max(0.0, age),
        )
        yield GaugeMetricFamily(
            "endpoint_bot_requests_pending",
            "Launch requests waiting for an approver.",
            value=self.queries.pending_requests(),
        )
        endpoints = GaugeMetricFamily(
            "endpoint_bot_endpoints",
            "Endpoints the bot follows (not deleted), by their last known state.",
            labels=["state"],
        )
        for state, count in sorted(self.queries.endpoints_by_state().items()):
            endpoints.add_metric([state], count)
        yield endpoints
        low = high = 0.0
        for endpoint in self.queries.followed_endpoints(SERVING):  # nothing else costs money now
            few, many = hourly_cost(endpoint.state, endpoint.last, endpoint.cents_per_minute, endpoint.bounds)
            low, high = low + few, high + many
        dollars = GaugeMetricFamily(
            "endpoint_bot_dollars_per_hour",
            "What the followed endpoints cost per hour now, in dollars: bound=low and bound=high (the "
            "replica count between the bounds is not always known).",
            labels=["bound"],
        )
        dollars.add_metric(["low"], round(low, 4))
        dollars.add_metric(["high"], round(high, 4))
        yield dollars


class _Together:
    def __init__(self, *collectors: _Collector) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def exposition(queries: GaugeQueries | None, multiprocess_dir: Path | None = None) -> tuple[bytes, str]:
    """The body and content type of GET /metrics."""
    process: _Collector = REGISTRY
    if multiprocess_dir is not None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(multiprocess_dir))
        process = registry
    collectors: list[_Collector] = [process]
    if queries is not None:
        collectors.append(DatabaseGauges(queries))
    return generate_latest(_Together(*collectors)), CONTENT_TYPE_LATEST
