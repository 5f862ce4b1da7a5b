"""The store's front: `Store` (reads, and units of work) and `Tx` (one unit of work), each composed of the
per-table parts in requests.py, endpoints.py, audit.py and outbox.py. The one place for SQL; it returns
domain records, never ORM rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import utcnow
from bot.domain.events import Event
from bot.domain.model import LaunchRequest, RequestStatus
from bot.domain.states import RETIRED
from bot.store.audit import StoreAudit, TxAudit
from bot.store.digests import StoreDigests
from bot.store.endpoints import StoreEndpoints, TxEndpoints
from bot.store.outbox import StoreOutbox, TxOutbox
from bot.store.records import endpoint_record
from bot.store.requests import StoreRequests, TxRequests
from bot.store.tables import EndpointRow, LaunchRequestRow, OutboxRow


class Tx(TxRequests, TxEndpoints, TxAudit, TxOutbox):
    """One unit of work: everything done through it commits together or not at all."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.actions: list[str] = []  # the audit actions recorded, for the store's observers once committed

    def announce(
        self,
        request: LaunchRequest,
        *,
        actor: str,
        action: str,
        reply: Event | None,
        endpoint_id: str | None = None,
        **detail: Any,
    ) -> None:
        """What most changes do: record who did what, queue a thread reply (if any), re-render the card."""
        self.record(
            team_id=request.team_id,
            actor=actor,
            action=action,
            request_id=request.id,
            endpoint_id=endpoint_id,
            **detail,
        )
        if reply is not None:
            self.reply(request, reply)
        self.notify(team_id=request.team_id, request_id=request.id, kind="card")


class Store(StoreRequests, StoreEndpoints, StoreAudit, StoreOutbox, StoreDigests):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # Called with the audit actions of each committed transaction (the launch-outcome metrics).
        self.observers: list[Callable[[list[str]], None]] = []

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._sessions.begin() as session:
            tx = Tx(session)
            yield tx
        if tx.actions:
            for observer in self.observers:
                observer(tx.actions)

    def retire_team(self, team_id: str, *, reason: str, now: datetime | None = None) -> int:
        """Stop following everything of a workspace that no longer exists (a `bot shell` session's).

        Its endpoints are marked deleted (they keep the last state seen, for the record), its approved
        but unlaunched requests fail, its undelivered Slack updates are dropped; each retired item
        gets an audit event. Returns how many endpoints and requests were retired. Their meters stop at
        `now` (default: the time now), the time since each was last seen serving shown as a range.
        """
        now = now or utcnow()
        with self.transaction() as tx:  # its audit actions reach the observers like any other
            session = tx.session
            endpoints = list(
                session.scalars(
                    select(EndpointRow).where(
                        EndpointRow.team_id == team_id, EndpointRow.deleted_at.is_(None)
                    )
                )
            )
            for endpoint in endpoints:
                tx.mark_endpoint_deleted(endpoint.id)
                # The meter stops here; since it was last seen serving, it may or may not have run.
                tx.end_following(endpoint_record(endpoint), RETIRED, now, high=endpoint.max_replicas)
                tx.record(
                    team_id=team_id,
                    actor="bot",
                    action="retired",
                    request_id=endpoint.request_id,
                    endpoint_id=endpoint.id,
                    state=endpoint.state,
                    reason=reason,
                )
            in_flight = [RequestStatus.APPROVED.value, RequestStatus.LAUNCHING.value]
            stuck = list(
                session.scalars(
                    select(LaunchRequestRow.id).where(
                        LaunchRequestRow.team_id == team_id, LaunchRequestRow.status.in_(in_flight)
                    )
                )
            )
            for request_id in stuck:
                tx.move_request(
                    request_id,
                    [RequestStatus.APPROVED, RequestStatus.LAUNCHING],
                    RequestStatus.FAILED,
                    error_message=reason,
                )
                tx.record(
                    team_id=team_id, actor="bot", action="retired", request_id=request_id, reason=reason
                )
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.team_id == team_id, OutboxRow.delivered_at.is_(None))
                .values(delivered_at=now, last_error=reason[:2000])
            )
        return len(endpoints) + len(stuck)
