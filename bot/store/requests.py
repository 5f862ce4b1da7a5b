"""Launch requests (and change requests, which are launch requests of a running endpoint), their
approvals and decisions: what a unit of work does with them (`TxRequests`, part of `Tx`) and what the
store reads on its own (`StoreRequests`, part of `Store`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import utcnow
from bot.domain.model import LaunchDraft, LaunchRequest, RequestStatus
from bot.store.cas import compare_and_set
from bot.store.records import load_request, load_requests
from bot.store.tables import ApprovalRow, DecisionRow, LaunchRequestRow


class TxRequests:
    session: Session

    def insert_request(
        self,
        *,
        team_id: str,
        channel_id: str,
        requested_by: str,
        draft: LaunchDraft,
        cents_per_minute: float,
        tier: str | None = None,
        approvals_needed: int = 1,
        requested_at: datetime | None = None,
        expires_at: datetime | None = None,
        change_of: int | None = None,
        change_kind: str | None = None,
        previous_replicas: tuple[int, int] | None = None,
    ) -> int:
        now = requested_at or utcnow()
        row = LaunchRequestRow(
            team_id=team_id,
            channel_id=channel_id,
            requested_by=requested_by,
            model=draft.model,
            hardware=draft.hardware,
            min_replicas=draft.min_replicas,
            max_replicas=draft.max_replicas,
            display_name=draft.display_name,
            inactive_timeout=draft.inactive_timeout,
            speculative_decoding=draft.speculative_decoding,
            prompt_cache=draft.prompt_cache,
            start_now=draft.start_now,
            cents_per_minute=cents_per_minute,
            status=RequestStatus.PENDING.value,
            requested_at=now,
            updated_at=now,
            tier=tier,
            approvals_needed=approvals_needed,
            approval_count=0,
            expires_at=expires_at,
            change_of=change_of,
            change_kind=change_kind,
            previous_min_replicas=previous_replicas[0] if previous_replicas else None,
            previous_max_replicas=previous_replicas[1] if previous_replicas else None,
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def move_request(
        self,
        request_id: int,
        expected: Iterable[RequestStatus],
        new: RequestStatus,
        *,
        unexpired_at: datetime | None = None,
        **fields: Any,
    ) -> bool:
        """Compare-and-set: move the request to `new` only if it is in one of `expected` (and, with
        `unexpired_at`, only if it had not expired by then)."""
        allowed = [s.value for s in expected]
        conditions = [LaunchRequestRow.id == request_id, LaunchRequestRow.status.in_(allowed)]
        if unexpired_at is not None:
            conditions.append(_unexpired(unexpired_at))
        return compare_and_set(
            self.session, LaunchRequestRow, *conditions, status=new.value, updated_at=utcnow(), **fields
        )

    def count_approval(self, request_id: int, *, seen: int, complete: bool, now: datetime) -> bool:
        """Compare-and-set on the approval count: one more approval of a pending, unexpired request that
        had `seen` approvals; `complete` also moves it to APPROVED. False when anything changed meanwhile
        (another approval, a decision, expiry): the caller looks again."""
        values: dict[str, Any] = {"approval_count": seen + 1, "updated_at": utcnow()}
        if complete:
            values["status"] = RequestStatus.APPROVED.value
        return compare_and_set(
            self.session,
            LaunchRequestRow,
            LaunchRequestRow.id == request_id,
            LaunchRequestRow.status == RequestStatus.PENDING.value,
            LaunchRequestRow.approval_count == seen,
            _unexpired(now),
            **values,
        )

    def insert_approval(
        self, *, request_id: int, team_id: str, user_id: str, note: str | None, at: datetime
    ) -> None:
        self.session.add(
            ApprovalRow(request_id=request_id, team_id=team_id, user_id=user_id, note=note, approved_at=at)
        )

    def expire_request(self, request_id: int, now: datetime) -> bool:
        """Pending -> expired, once its time has come; True only for the caller that moved it."""
        return compare_and_set(
            self.session,
            LaunchRequestRow,
            LaunchRequestRow.id == request_id,
            LaunchRequestRow.status == RequestStatus.PENDING.value,
            LaunchRequestRow.expires_at.is_not(None),
            LaunchRequestRow.expires_at <= now,
            status=RequestStatus.EXPIRED.value,
            updated_at=utcnow(),
        )

    def claim_launch(self, request_id: int, lease: timedelta) -> bool:
        """Approved -> launching, owned by the caller until the lease runs out. Exactly one caller wins."""
        now = utcnow()
        return self.move_request(
            request_id,
            [RequestStatus.APPROVED],
            RequestStatus.LAUNCHING,
            launch_started_at=now,
            claimed_until=now + lease,
            launch_attempts=LaunchRequestRow.launch_attempts + 1,
        )

    def reclaim_launch(self, request_id: int, lease: timedelta) -> int | None:
        """Take over a launch whose claimant's lease ran out (it died). Returns the attempts so far."""
        now = utcnow()
        taken = compare_and_set(
            self.session,
            LaunchRequestRow,
            LaunchRequestRow.id == request_id,
            LaunchRequestRow.status == RequestStatus.LAUNCHING.value,
            or_(LaunchRequestRow.claimed_until.is_(None), LaunchRequestRow.claimed_until < now),
            claimed_until=now + lease,
            updated_at=now,
        )
        if not taken:
            return None
        return self.session.scalar(
            select(LaunchRequestRow.launch_attempts).where(LaunchRequestRow.id == request_id)
        )

    def count_attempt(self, request_id: int) -> None:
        self.session.execute(
            update(LaunchRequestRow)
            .where(LaunchRequestRow.id == request_id)
            .values(launch_attempts=LaunchRequestRow.launch_attempts + 1)
            .execution_options(synchronize_session=False)
        )

    def insert_decision(
        self,
        *,
        request_id: int,
        team_id: str,
        user_id: str,
        decision: str,
        note: str | None,
        at: datetime | None = None,
    ) -> None:
        self.session.add(
            DecisionRow(
                request_id=request_id,
                team_id=team_id,
                user_id=user_id,
                decision=decision,
                note=note,
                decided_at=at or utcnow(),
            )
        )

    def get_request(self, request_id: int) -> LaunchRequest | None:
        return load_request(self.session, request_id)


class StoreRequests:
    _sessions: sessionmaker[Session]

    def get_request(self, request_id: int) -> LaunchRequest | None:
        with self._sessions() as session:
            return load_request(session, request_id)

    def requests(self, *, statuses: Iterable[RequestStatus] | None = None) -> list[LaunchRequest]:
        with self._sessions() as session:
            query = select(LaunchRequestRow.id).order_by(LaunchRequestRow.id)
            if statuses is not None:
                query = query.where(LaunchRequestRow.status.in_([s.value for s in statuses]))
            ids = list(session.scalars(query))
            loaded = load_requests(session, ids)
            return [loaded[i] for i in ids if i in loaded]

    def changes_of(self, launch_id: int) -> list[LaunchRequest]:
        """The change requests of a launch's endpoint, oldest first."""
        with self._sessions() as session:
            ids = list(
                session.scalars(
                    select(LaunchRequestRow.id)
                    .where(LaunchRequestRow.change_of == launch_id)
                    .order_by(LaunchRequestRow.id)
                )
            )
            loaded = load_requests(session, ids)
            return [loaded[i] for i in ids if i in loaded]

    def get_requests(self, request_ids: Iterable[int]) -> dict[int, LaunchRequest]:
        """Several requests by id, in a constant number of queries."""
        with self._sessions() as session:
            return load_requests(session, sorted(set(request_ids)))

    def due_expiries(self, now: datetime) -> list[int]:
        """Pending requests whose time to be decided ran out by `now`."""
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(LaunchRequestRow.id)
                    .where(
                        LaunchRequestRow.status == RequestStatus.PENDING.value,
                        LaunchRequestRow.expires_at.is_not(None),
                        LaunchRequestRow.expires_at <= now,
                    )
                    .order_by(LaunchRequestRow.id)
                )
            )

    def stale_launches(self) -> list[int]:
        """Requests stuck in LAUNCHING whose claimant's lease ran out."""
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(LaunchRequestRow.id)
                    .where(
                        LaunchRequestRow.status == RequestStatus.LAUNCHING.value,
                        or_(
                            LaunchRequestRow.claimed_until.is_(None),
                            LaunchRequestRow.claimed_until < utcnow(),
                        ),
                    )
                    .order_by(LaunchRequestRow.id)
                )
            )


def _unexpired(now: datetime) -> ColumnElement[bool]:
    """The request had not expired at `now` (or never expires)."""
    return or_(LaunchRequestRow.expires_at.is_(None), LaunchRequestRow.expires_at > now)
