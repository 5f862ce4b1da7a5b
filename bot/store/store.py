"""The queries the domain needs: the one place for SQL. Returns domain records, never ORM rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.domain.clock import utcnow
from bot.domain.cost.meter import Observation
from bot.domain.model import (
    Approval,
    EndpointRecord,
    LaunchDraft,
    LaunchRequest,
    Notification,
    RequestStatus,
)
from bot.domain.states import RETIRED, SERVING, UNSEEN
from bot.store.tables import (
    ApprovalRow,
    AuditEventRow,
    DecisionRow,
    DuplicateSightingRow,
    EndpointRow,
    EndpointStateRow,
    LaunchRequestRow,
    OutboxRow,
)


@dataclass(frozen=True)
class Seen:
    """What goes with a recorded state: when (default: now), replicas ready (v2), the bounds in force."""

    at: datetime | None = None
    ready_replicas: int | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    end_reminders: bool = False  # the state is not serving: no "still running" reminder is due any more


class Tx:
    """One unit of work: everything done through it commits together or not at all."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.actions: list[str] = []  # the audit actions recorded, for the store's observers once committed

    # --- launch requests ------------------------------------------------------------------

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
        result = self.session.execute(
            update(LaunchRequestRow)
            .where(*conditions)
            .values(status=new.value, updated_at=utcnow(), **fields)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def count_approval(self, request_id: int, *, seen: int, complete: bool, now: datetime) -> bool:
        """Compare-and-set on the approval count: one more approval of a pending, unexpired request that
        had `seen` approvals; `complete` also moves it to APPROVED. False when anything changed meanwhile
        (another approval, a decision, expiry): the caller looks again."""
        values: dict[str, Any] = {"approval_count": seen + 1, "updated_at": utcnow()}
        if complete:
            values["status"] = RequestStatus.APPROVED.value
        result = self.session.execute(
            update(LaunchRequestRow)
            .where(
                LaunchRequestRow.id == request_id,
                LaunchRequestRow.status == RequestStatus.PENDING.value,
                LaunchRequestRow.approval_count == seen,
                _unexpired(now),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def insert_approval(
        self, *, request_id: int, team_id: str, user_id: str, note: str | None, at: datetime
    ) -> None:
        self.session.add(
            ApprovalRow(request_id=request_id, team_id=team_id, user_id=user_id, note=note, approved_at=at)
        )

    def expire_request(self, request_id: int, now: datetime) -> bool:
        """Pending -> expired, once its time has come; True only for the caller that moved it."""
        result = self.session.execute(
            update(LaunchRequestRow)
            .where(
                LaunchRequestRow.id == request_id,
                LaunchRequestRow.status == RequestStatus.PENDING.value,
                LaunchRequestRow.expires_at.is_not(None),
                LaunchRequestRow.expires_at <= now,
            )
            .values(status=RequestStatus.EXPIRED.value, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

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
        result = self.session.execute(
            update(LaunchRequestRow)
            .where(
                LaunchRequestRow.id == request_id,
                LaunchRequestRow.status == RequestStatus.LAUNCHING.value,
                or_(LaunchRequestRow.claimed_until.is_(None), LaunchRequestRow.claimed_until < now),
            )
            .values(claimed_until=now + lease, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
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

    def set_message_ts(self, request_id: int, ts: str) -> bool:
        result = self.session.execute(
            update(LaunchRequestRow)
            .where(LaunchRequestRow.id == request_id, LaunchRequestRow.message_ts.is_(None))
            .values(message_ts=ts)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

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
        return _load_request(self.session, request_id)

    # --- endpoints ------------------------------------------------------------------------

    def insert_endpoint(
        self,
        *,
        endpoint_id: str,
        request_id: int,
        team_id: str,
        name: str,
        model: str,
        hardware: str,
        state: str,
        seen: Seen | None = None,
    ) -> None:
        seen = seen or Seen()
        now = seen.at or utcnow()
        self.session.add(
            EndpointRow(
                id=endpoint_id,
                request_id=request_id,
                team_id=team_id,
                name=name,
                model=model,
                hardware=hardware,
                state=state,
                state_changed_at=now,
                created_at=now,
            )
        )
        self.session.flush()
        self.add_observation(endpoint_id, state, seen)

    def move_endpoint_state(
        self, endpoint_id: str, expected: str, new: str, seen: Seen | None = None
    ) -> bool:
        """Compare-and-set on the endpoint's last known state; records history (with `seen`) when it wins."""
        seen = seen or Seen()
        now = seen.at or utcnow()
        values: dict[str, Any] = {"state": new, "state_changed_at": now}
        if seen.end_reminders:
            values["next_reminder_at"] = None
        result = self.session.execute(
            update(EndpointRow)
            .where(EndpointRow.id == endpoint_id, EndpointRow.state == expected)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        self.add_observation(endpoint_id, new, seen)
        return True

    def end_following(
        self, endpoint: EndpointRecord, final: str, now: datetime, *, high: int | None, move: bool = True
    ) -> None:
        """The endpoint is no longer followed from `now` on, in state `final` (RETIRED, DELETED).

        Had it been serving, the time since the bot last saw it so is not known to have been served: an
        UNSEEN row from then until `now` lets the meter show it as a range (nothing to as many replicas as
        then). With `move`, the endpoint's state becomes `final` (and its history gets the row).
        """
        if endpoint.state in SERVING:
            since = endpoint.last_seen_at or endpoint.state_changed_at
            if since < now:
                ready = self._last_ready(endpoint.id)
                self.add_observation(
                    endpoint.id, UNSEEN, Seen(at=since, max_replicas=ready if ready is not None else high)
                )
        if move:
            self.move_endpoint_state(endpoint.id, endpoint.state, final, Seen(at=now, end_reminders=True))

    def _last_ready(self, endpoint_id: str) -> int | None:
        return self.session.scalar(
            select(EndpointStateRow.ready_replicas)
            .where(EndpointStateRow.endpoint_id == endpoint_id)
            .order_by(EndpointStateRow.observed_at.desc(), EndpointStateRow.id.desc())
            .limit(1)
        )

    def mark_seen(self, endpoint_ids: Iterable[str], at: datetime) -> None:
        """Together listed (or showed) these endpoints at `at`."""
        ids = list(endpoint_ids)
        if ids:
            self.session.execute(
                update(EndpointRow)
                .where(EndpointRow.id.in_(ids))
                .values(last_seen_at=at)
                .execution_options(synchronize_session=False)
            )

    def add_observation(self, endpoint_id: str, state: str, seen: Seen) -> None:
        """A row of state history: the state from `seen.at` on, with its replicas and bounds."""
        self.session.add(
            EndpointStateRow(
                endpoint_id=endpoint_id,
                state=state,
                observed_at=seen.at or utcnow(),
                ready_replicas=seen.ready_replicas,
                min_replicas=seen.min_replicas,
                max_replicas=seen.max_replicas,
            )
        )

    def schedule_reminder(
        self, endpoint_id: str, *, state: str, expected: datetime | None, at: datetime
    ) -> bool:
        """Compare-and-set the next reminder: only if it is still `expected` (None: none scheduled) and the
        endpoint is still in `state` and not deleted. True only for the caller that changed it."""
        due = (
            EndpointRow.next_reminder_at.is_(None)
            if expected is None
            else EndpointRow.next_reminder_at == expected
        )
        result = self.session.execute(
            update(EndpointRow)
            .where(
                EndpointRow.id == endpoint_id,
                EndpointRow.state == state,
                EndpointRow.deleted_at.is_(None),
                due,
            )
            .values(next_reminder_at=at)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def set_problem(self, endpoint_id: str, problem: str | None) -> bool:
        """Flag (or clear) a tracking problem; True only for the caller that changed it, so it is said once."""
        condition = EndpointRow.problem.is_(None) if problem else EndpointRow.problem.is_not(None)
        result = self.session.execute(
            update(EndpointRow)
            .where(EndpointRow.id == endpoint_id, condition)
            .values(problem=problem, problem_since=utcnow() if problem else None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def mark_endpoint_deleted(self, endpoint_id: str) -> bool:
        """True only for the caller that marked it, so a deletion is announced once."""
        result = self.session.execute(
            update(EndpointRow)
            .where(EndpointRow.id == endpoint_id, EndpointRow.deleted_at.is_(None))
            .values(deleted_at=utcnow(), delete_requested_by=None, delete_requested_at=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def note_duplicate(self, endpoint_id: str, request_id: int) -> bool:
        """Remember that `endpoint_id` was reported in request `request_id`'s thread; False if it was already
        (by this process or another: the insert does nothing on a conflict, so it is said once)."""
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(DuplicateSightingRow)
            .values(endpoint_id=endpoint_id, request_id=request_id, seen_at=utcnow())
            .on_conflict_do_nothing(index_elements=["endpoint_id"])
            .returning(DuplicateSightingRow.endpoint_id)
        )
        return self.session.execute(statement).scalar() is not None  # a row comes back only if inserted

    def request_delete(self, endpoint_id: str, user_id: str) -> bool:
        """Claim the endpoint's deletion for `user_id`; False when it is deleted or being deleted already."""
        result = self.session.execute(
            update(EndpointRow)
            .where(
                EndpointRow.id == endpoint_id,
                EndpointRow.deleted_at.is_(None),
                EndpointRow.delete_requested_at.is_(None),
            )
            .values(delete_requested_by=user_id, delete_requested_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def drop_delete_request(self, endpoint_id: str) -> bool:
        """The deletion did not happen (Together refused it): the endpoint may be deleted again."""
        result = self.session.execute(
            update(EndpointRow)
            .where(EndpointRow.id == endpoint_id, EndpointRow.delete_requested_at.is_not(None))
            .values(delete_requested_by=None, delete_requested_at=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    # --- audit and notifications ----------------------------------------------------------

    def record(
        self,
        *,
        team_id: str,
        actor: str,
        action: str,
        request_id: int | None = None,
        endpoint_id: str | None = None,
        **detail: Any,
    ) -> None:
        self.actions.append(action)
        self.session.add(
            AuditEventRow(
                team_id=team_id,
                request_id=request_id,
                endpoint_id=endpoint_id,
                actor=actor,
                action=action,
                detail=detail,
                at=utcnow(),
            )
        )

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

    def reply(self, request: LaunchRequest, payload: dict[str, Any]) -> None:
        """Queue a reply in the request's thread (no card re-render)."""
        self.notify(team_id=request.team_id, request_id=request.id, kind="thread", payload=payload)

    def announce(
        self,
        request: LaunchRequest,
        *,
        actor: str,
        action: str,
        reply: dict[str, Any] | None,
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

    # --- running endpoints (lifecycle) ----------------------------------------------------

    def set_endpoint_settings(self, endpoint_id: str, **settings: int | str | None) -> None:
        """Remember settings changed after launch: display_name, min/max_replicas, inactive_timeout."""
        allowed = {"display_name", "min_replicas", "max_replicas", "inactive_timeout"}
        unknown = set(settings) - allowed
        if unknown:
            raise ValueError(f"not endpoint settings: {sorted(unknown)}")
        if settings:
            self.session.execute(
                update(EndpointRow)
                .where(EndpointRow.id == endpoint_id)
                .values(**settings)
                .execution_options(synchronize_session=False)
            )


class Store:
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

    def get_request(self, request_id: int) -> LaunchRequest | None:
        with self._sessions() as session:
            return _load_request(session, request_id)

    def requests(self, *, statuses: Iterable[RequestStatus] | None = None) -> list[LaunchRequest]:
        with self._sessions() as session:
            query = select(LaunchRequestRow.id).order_by(LaunchRequestRow.id)
            if statuses is not None:
                query = query.where(LaunchRequestRow.status.in_([s.value for s in statuses]))
            ids = list(session.scalars(query))
            loaded = _load_requests(session, ids)
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
            loaded = _load_requests(session, ids)
            return [loaded[i] for i in ids if i in loaded]

    def get_requests(self, request_ids: Iterable[int]) -> dict[int, LaunchRequest]:
        """Several requests by id, in a constant number of queries."""
        with self._sessions() as session:
            return _load_requests(session, sorted(set(request_ids)))

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

    def tracked_endpoints(self) -> list[EndpointRecord]:
        """Endpoints the bot launched and that were not deleted."""
        with self._sessions() as session:
            rows = session.scalars(
                select(EndpointRow).where(EndpointRow.deleted_at.is_(None)).order_by(EndpointRow.created_at)
            )
            return [_endpoint(row) for row in rows]

    def endpoints_in(self, states: Iterable[str]) -> list[EndpointRecord]:
        """Endpoints not deleted whose last known state is one of `states`."""
        with self._sessions() as session:
            rows = session.scalars(
                select(EndpointRow)
                .where(EndpointRow.deleted_at.is_(None), EndpointRow.state.in_(list(states)))
                .order_by(EndpointRow.created_at)
            )
            return [_endpoint(row) for row in rows]

    def pending_deletes(self) -> list[EndpointRecord]:
        """Endpoints whose deletion was asked for and waits for Together to stop them first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(EndpointRow)
                .where(EndpointRow.deleted_at.is_(None), EndpointRow.delete_requested_at.is_not(None))
                .order_by(EndpointRow.delete_requested_at)
            )
            return [_endpoint(row) for row in rows]

    def observations(self, endpoint_ids: Iterable[str]) -> dict[str, list[Observation]]:
        """Each endpoint's state history, oldest first, in one query whatever their number."""
        ids = list(endpoint_ids)
        found: dict[str, list[Observation]] = {i: [] for i in ids}
        if not ids:
            return found
        with self._sessions() as session:
            rows = session.scalars(
                select(EndpointStateRow)
                .where(EndpointStateRow.endpoint_id.in_(ids))
                .order_by(EndpointStateRow.id)
            )
            for r in rows:
                found[r.endpoint_id].append(
                    Observation(r.state, r.observed_at, r.ready_replicas, r.min_replicas, r.max_replicas)
                )
        return found

    def endpoint_history(self, endpoint_id: str) -> list[tuple[str, datetime]]:
        with self._sessions() as session:
            rows = session.execute(
                select(EndpointStateRow.state, EndpointStateRow.observed_at)
                .where(EndpointStateRow.endpoint_id == endpoint_id)
                .order_by(EndpointStateRow.id)
            )
            return [(state, at) for state, at in rows]

    def events(self, request_id: int) -> list[dict[str, Any]]:
        with self._sessions() as session:
            rows = session.scalars(
                select(AuditEventRow).where(AuditEventRow.request_id == request_id).order_by(AuditEventRow.id)
            )
            return [
                {
                    "action": r.action,
                    "actor": r.actor,
                    "at": r.at,
                    "endpoint_id": r.endpoint_id,
                    "detail": r.detail,
                }
                for r in rows
            ]

    # --- outbox ---------------------------------------------------------------------------

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
                result = session.execute(
                    update(OutboxRow)
                    .where(
                        OutboxRow.id == row.id,
                        OutboxRow.delivered_at.is_(None),
                        or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
                    )
                    .values(claimed_by=worker, claimed_until=now + lease, attempts=OutboxRow.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
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

    def retire_team(self, team_id: str, *, reason: str, now: datetime | None = None) -> int:
        """Stop following everything of a workspace that no longer exists (a `bot shell` session's).

        Its endpoints are marked deleted (they keep the last state seen, for the record), its approved
        but unlaunched requests fail, its undelivered Slack updates are dropped; each retired item
        gets an audit event. Returns how many endpoints and requests were retired. Their meters stop at
        `now` (default: the time now), the time since each was last seen serving shown as a range.
        """
        now = now or utcnow()
        with self._sessions.begin() as session:
            tx = Tx(session)
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
                tx.end_following(_endpoint(endpoint), RETIRED, now, high=endpoint.max_replicas)
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

    # --- running endpoints (lifecycle) ----------------------------------------------------

    def endpoint(self, endpoint_id: str) -> EndpointRecord | None:
        """One endpoint the bot launched, deleted or not."""
        with self._sessions() as session:
            row = session.get(EndpointRow, endpoint_id)
            return _endpoint(row) if row is not None else None

    def endpoints(self, *, include_deleted: bool = False) -> list[EndpointRecord]:
        """Endpoints the bot launched, oldest first."""
        with self._sessions() as session:
            query = select(EndpointRow).order_by(EndpointRow.created_at, EndpointRow.id)
            if not include_deleted:
                query = query.where(EndpointRow.deleted_at.is_(None))
            return [_endpoint(row) for row in session.scalars(query)]

    def recent_events(self, limit: int = 25) -> list[dict[str, Any]]:
        """The latest audit events across every request, oldest of them first."""
        with self._sessions() as session:
            rows = list(session.scalars(select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)))
            return [
                {
                    "request_id": r.request_id,
                    "action": r.action,
                    "actor": r.actor,
                    "at": r.at,
                    "endpoint_id": r.endpoint_id,
                    "detail": r.detail,
                }
                for r in reversed(rows)
            ]


def _load_request(session: Session, request_id: int) -> LaunchRequest | None:
    return _load_requests(session, [request_id]).get(request_id)


def _load_requests(session: Session, request_ids: list[int]) -> dict[int, LaunchRequest]:
    """Several requests in four queries, whatever their number (the tracker loads every changed one)."""
    if not request_ids:
        return {}
    # Approvals and the decision are read before the request's status: outside a transaction each read
    # sees the latest commit, and this order never shows a request still pending with the approvals that
    # completed it. (Approvals older than the status only make an approval's compare-and-set look again.)
    approvals_of: dict[int, list[ApprovalRow]] = {}
    for approval in session.scalars(
        select(ApprovalRow).where(ApprovalRow.request_id.in_(request_ids)).order_by(ApprovalRow.id)
    ):
        approvals_of.setdefault(approval.request_id, []).append(approval)
    decisions = {
        d.request_id: d
        for d in session.scalars(select(DecisionRow).where(DecisionRow.request_id.in_(request_ids)))
    }
    rows = list(session.scalars(select(LaunchRequestRow).where(LaunchRequestRow.id.in_(request_ids))))
    endpoints = {
        e.request_id: e
        for e in session.scalars(select(EndpointRow).where(EndpointRow.request_id.in_(request_ids)))
    }
    return {
        row.id: _request(row, approvals_of.get(row.id, []), decisions.get(row.id), endpoints.get(row.id))
        for row in rows
    }


def _request(
    row: LaunchRequestRow,
    approvals: list[ApprovalRow],
    decision: DecisionRow | None,
    endpoint: EndpointRow | None,
) -> LaunchRequest:
    return LaunchRequest(
        id=row.id,
        team_id=row.team_id,
        channel_id=row.channel_id,
        requested_by=row.requested_by,
        draft=LaunchDraft(
            model=row.model,
            hardware=row.hardware,
            min_replicas=row.min_replicas,
            max_replicas=row.max_replicas,
            display_name=row.display_name,
            inactive_timeout=row.inactive_timeout,
            speculative_decoding=row.speculative_decoding,
            prompt_cache=row.prompt_cache,
            start_now=row.start_now,
        ),
        cents_per_minute=row.cents_per_minute,
        status=RequestStatus(row.status),
        requested_at=row.requested_at,
        message_ts=row.message_ts,
        decision=decision.decision if decision else None,
        decided_by=decision.user_id if decision else None,
        decided_at=decision.decided_at if decision else None,
        decision_note=decision.note if decision else None,
        launched_at=row.launched_at,
        error_message=row.error_message,
        error_code=row.error_code,
        endpoint=_endpoint(endpoint) if endpoint else None,
        tier=row.tier,
        approvals_needed=row.approvals_needed,
        approvals=tuple(Approval(a.user_id, a.approved_at, a.note) for a in approvals),
        expires_at=row.expires_at,
        change_of=row.change_of,
        change=row.change_kind,
        previous_replicas=(
            (row.previous_min_replicas, row.previous_max_replicas)
            if row.previous_min_replicas is not None and row.previous_max_replicas is not None
            else None
        ),
    )


def _unexpired(now: datetime) -> Any:
    """The request had not expired at `now` (or never expires)."""
    return or_(LaunchRequestRow.expires_at.is_(None), LaunchRequestRow.expires_at > now)


def _endpoint(row: EndpointRow) -> EndpointRecord:
    return EndpointRecord(
        id=row.id,
        request_id=row.request_id,
        name=row.name,
        model=row.model,
        hardware=row.hardware,
        state=row.state,
        state_changed_at=row.state_changed_at,
        created_at=row.created_at,
        problem=row.problem,
        display_name=row.display_name,
        min_replicas=row.min_replicas,
        max_replicas=row.max_replicas,
        inactive_timeout=row.inactive_timeout,
        deleted_at=row.deleted_at,
        delete_requested_by=row.delete_requested_by,
        delete_requested_at=row.delete_requested_at,
        next_reminder_at=row.next_reminder_at,
        last_seen_at=row.last_seen_at,
        startup_phase=row.startup_phase,
        startup_ready=row.startup_ready,
        startup_desired=row.startup_desired,
        startup_since=row.startup_since,
        startup_seen_at=row.startup_seen_at,
        progress_card_at=row.progress_card_at,
        progress_pending=bool(row.progress_pending),
        first_serving_at=row.first_serving_at,
    )
