"""GET /metrics: the process's counters (or every worker's, in multi-process mode) and the gauges read from
the database when Prometheus scrapes. The metric families themselves are defined in `bot.metrics`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from bot.domain.clock import utcnow
from bot.domain.cost.meter import hourly_cost
from bot.domain.states import SERVING
from bot.store.gauges import GaugeQueries

log = logging.getLogger(__name__)


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


class _Combined:
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
    return generate_latest(_Combined(*collectors)), CONTENT_TYPE_LATEST
