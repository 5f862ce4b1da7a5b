"""The read-only queries behind the bot's gauges (see bot/metrics.py): one statement each, whatever the
number of requests, endpoints or queued Slack updates, so that a scrape costs the same at any size."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.domain.cost.meter import Observation
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
    last: Observation | None  # the latest state row: replicas ready and bounds then (its time is not read)


_UNUSED = datetime(1970, 1, 1)  # what it costs now does not depend on when the state was seen


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

    def followed_endpoints(self, states: Iterable[str]) -> list[FollowedEndpoint]:
        """Endpoints not deleted whose last known state is one of `states`, with their request's price and
        bounds and their latest state row. Plain columns, not ORM objects: a scrape stays light."""
        latest = (
            select(EndpointStateRow.endpoint_id, func.max(EndpointStateRow.id).label("last_id"))
            .group_by(EndpointStateRow.endpoint_id)
            .subquery()
        )
        statement = (
            select(
                EndpointRow.state,
                LaunchRequestRow.cents_per_minute,
                func.coalesce(EndpointRow.min_replicas, LaunchRequestRow.min_replicas),
                func.coalesce(EndpointRow.max_replicas, LaunchRequestRow.max_replicas),
                EndpointStateRow.state,
                EndpointStateRow.ready_replicas,
                EndpointStateRow.min_replicas,
                EndpointStateRow.max_replicas,
            )
            .join(LaunchRequestRow, LaunchRequestRow.id == EndpointRow.request_id)
            .outerjoin(latest, latest.c.endpoint_id == EndpointRow.id)
            .outerjoin(EndpointStateRow, EndpointStateRow.id == latest.c.last_id)
            .where(EndpointRow.deleted_at.is_(None), EndpointRow.state.in_(list(states)))
        )
        with Session(self.engine) as session:
            rows = session.execute(statement).all()
        return [
            FollowedEndpoint(
                state,
                float(cents),
                (int(low), int(high)),
                Observation(last_state, _UNUSED, ready, last_min, last_max)
                if last_state is not None
                else None,
            )
            for state, cents, low, high, last_state, ready, last_min, last_max in rows
        ]
