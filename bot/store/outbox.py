"""The outbox: Slack updates (card renders and thread replies) written in the same transaction as the
change they tell of, delivered afterwards by the publisher. `TxOutbox` queues (part of `Tx`);
`StoreOutbox` claims, delivers and forgets (part of `Store`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.domain.clock import utcnow
from bot.domain.events import Event, thread_payload
from bot.domain.model import LaunchRequest, Notification
from bot.store.cas import compare_and_set
from bot.store.tables import LaunchRequestRow, OutboxRow


class TxOutbox:
    session: Session

    def notify(
        self, *, team_id: str, request_id: int, kind: str, payload: dict[str, Any] | None = None
    ) -> None:
        now = utcnow()
        self.session.add(
            OutboxRow(
                team_id=team_id,
                request_id=request_id,
                kind=kind,
                payload=payload or {},
                created_at=now,
                next_attempt_at=now,
                attempts=0,
            )
        )

    def reply(self, request: LaunchRequest, event: Event) -> None:
        """Queue a reply in the request's thread (no card re-render)."""
        self.notify(
            team_id=request.team_id, request_id=request.id, kind="thread", payload=thread_payload(event)
        )


class StoreOutbox:
    _sessions: sessionmaker[Session]

    def claim_notifications(self, worker: str, lease: timedelta, limit: int = 50) -> list[Notification]:
        """Claim undelivered, due notifications for `worker`, oldest first, at most one per request.

        A notification waits while an older one for the same request is undelivered, so a thread never
        shows replies out of order and a reply never precedes its card. Claimed rows are skipped by other
        processes until the lease runs out (PostgreSQL: FOR UPDATE SKIP LOCKED while claiming).
        `Notification.attempts` is the number of earlier attempts.
        """
        earlier = aliased(OutboxRow)
        now = utcnow()
        with self._sessions.begin() as session:
            rows = list(
                session.scalars(
                    select(OutboxRow)
                    .where(
                        OutboxRow.delivered_at.is_(None),
                        OutboxRow.next_attempt_at <= now,
                        or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
                        ~exists().where(
                            and_(
                                earlier.request_id == OutboxRow.request_id,
                                earlier.delivered_at.is_(None),
                                earlier.id < OutboxRow.id,
                            )
                        ),
                    )
                    .order_by(OutboxRow.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True, of=OutboxRow)
                )
            )
            claimed = []
            for row in rows:
                # Compare-and-set per row: where row locks are not available (SQLite), a row another
                # publisher claimed between the read and this write is not claimed twice.
                if compare_and_set(
                    session,
                    OutboxRow,
                    OutboxRow.id == row.id,
                    OutboxRow.delivered_at.is_(None),
                    or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
                    claimed_by=worker,
                    claimed_until=now + lease,
                    attempts=OutboxRow.attempts + 1,
                ):
                    claimed.append(
                        Notification(row.id, row.request_id, row.kind, dict(row.payload), row.attempts)
                    )
            return claimed

    def has_later_card(self, notification: Notification) -> bool:
        """A newer card render for the same request is queued, so this one can be skipped."""
        with self._sessions() as session:
            found = session.scalar(
                select(OutboxRow.id).where(
                    OutboxRow.request_id == notification.request_id,
                    OutboxRow.kind == "card",
                    OutboxRow.delivered_at.is_(None),
                    OutboxRow.id > notification.id,
                )
            )
            return found is not None

    def record_card(self, request_id: int, ts: str) -> None:
        """The card of a request was posted as message `ts`; later renders update that message."""
        with self._sessions.begin() as session:
            compare_and_set(
                session,
                LaunchRequestRow,
                LaunchRequestRow.id == request_id,
                LaunchRequestRow.message_ts.is_(None),  # the first post wins; a retry finds it posted
                message_ts=ts,
            )

    def mark_delivered(self, notification_id: int) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == notification_id)
                .values(delivered_at=utcnow(), last_error=None, claimed_by=None, claimed_until=None)
            )

    def mark_failed(self, notification_id: int, error: str, retry_in: timedelta) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == notification_id)
                .values(
                    next_attempt_at=utcnow() + retry_in,
                    last_error=error[:2000],
                    claimed_by=None,
                    claimed_until=None,
                )
            )

    def purge_delivered(self, older_than: timedelta) -> int:
        """Forget Slack updates delivered longer ago than `older_than` (the audit trail is kept apart)."""
        with self._sessions.begin() as session:
            result = session.execute(
                delete(OutboxRow).where(
                    OutboxRow.delivered_at.is_not(None), OutboxRow.delivered_at < utcnow() - older_than
                )
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def undelivered_count(self) -> int:
        with self._sessions() as session:
            return int(
                session.scalar(select(func.count(OutboxRow.id)).where(OutboxRow.delivered_at.is_(None))) or 0
            )
