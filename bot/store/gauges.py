"""The read-only queries behind the bot's gauges (see bot/metrics.py): one statement each, whatever the
number of requests, endpoints or queued Slack updates, so that a scrape costs the same at any size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.domain.meter import Observation
from bot.domain.model import RequestStatus
from bot.store.tables import EndpointRow, EndpointStateRow, LaunchRequestRow, OutboxRow


@dataclass(frozen=True)
class OutboxBacklog:
    pending: int  # Slack updates written and not delivered yet
    oldest: datetime | None  # when the oldest of them was written


@dataclass(frozen=True)
class FollowedEndpoint:
    """An endpoint the bot follows, with what its cost now depends on."""

    state: str
    cents_per_minute: float  # one replica
    bounds: tuple[int, int]  # the replica bounds in force now
    last: Observation | None  # the latest state row (ready replicas, bounds then)


class GaugeQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def outbox_backlog(self) -> OutboxBacklog:
        with Session(self.engine) as session:
            count, oldest = session.execute(
                select(func.count(OutboxRow.id), func.min(OutboxRow.created_at)).where(
                    OutboxRow.delivered_at.is_(None)
                )
            ).one()
        return OutboxBacklog(int(count or 0), oldest)

    def pending_requests(self) -> int:
        with Session(self.engine) as session:
            return int(
                session.scalar(
                    select(func.count(LaunchRequestRow.id)).where(
                        LaunchRequestRow.status == RequestStatus.PENDING.value
                    )
                )
                or 0
            )

    def endpoints_by_state(self) -> dict[str, int]:
        """Endpoints the bot follows (not deleted), counted by their last known state."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(EndpointRow.state, func.count(EndpointRow.id))
                .where(EndpointRow.deleted_at.is_(None))
                .group_by(EndpointRow.state)
            )
            return {state: int(count) for state, count in rows}

    def followed_endpoints(self) -> list[FollowedEndpoint]:
        """Every endpoint not deleted, its request's price and bounds, and its latest state row."""
        latest = (
            select(EndpointStateRow.endpoint_id, func.max(EndpointStateRow.id).label("last_id"))
            .group_by(EndpointStateRow.endpoint_id)
            .subquery()
        )
        statement = (
            select(EndpointRow, LaunchRequestRow, EndpointStateRow)
            .join(LaunchRequestRow, LaunchRequestRow.id == EndpointRow.request_id)
            .outerjoin(latest, latest.c.endpoint_id == EndpointRow.id)
            .outerjoin(EndpointStateRow, EndpointStateRow.id == latest.c.last_id)
            .where(EndpointRow.deleted_at.is_(None))
        )
        found = []
        with Session(self.engine) as session:
            for endpoint, request, state_row in session.execute(statement):
                low = endpoint.min_replicas if endpoint.min_replicas is not None else request.min_replicas
                high = endpoint.max_replicas if endpoint.max_replicas is not None else request.max_replicas
                last = (
                    Observation(
                        state_row.state,
                        state_row.observed_at,
                        state_row.ready_replicas,
                        state_row.min_replicas,
                        state_row.max_replicas,
                    )
                    if state_row is not None
                    else None
                )
                found.append(FollowedEndpoint(endpoint.state, request.cents_per_minute, (low, high), last))
        return found
