"""Endpoints the bot launched, their state history, reminders and deletions: what a unit of work does
with them (`TxEndpoints`, part of `Tx`) and what the store reads on its own (`StoreEndpoints`, part of
`Store`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import utcnow
from bot.domain.model import EndpointRecord, Observation
from bot.domain.states import SERVING, UNSEEN
from bot.store.cas import compare_and_set
from bot.store.records import endpoint_record
from bot.store.tables import DuplicateSightingRow, EndpointRow, EndpointStateRow

SETTINGS = frozenset({"display_name", "min_replicas", "max_replicas", "inactive_timeout"})


@dataclass(frozen=True)
class Seen:
    """What goes with a recorded state: when (default: now), replicas ready (v2), the bounds in force."""

    at: datetime | None = None
    ready_replicas: int | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    end_reminders: bool = False  # the state is not serving: no "still running" reminder is due any more


class TxEndpoints:
    session: Session

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
        moved = compare_and_set(
            self.session, EndpointRow, EndpointRow.id == endpoint_id, EndpointRow.state == expected, **values
        )
        if moved:
            self.add_observation(endpoint_id, new, seen)
        return moved

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
        return compare_and_set(
            self.session,
            EndpointRow,
            EndpointRow.id == endpoint_id,
            EndpointRow.state == state,
            EndpointRow.deleted_at.is_(None),
            due,
            next_reminder_at=at,
        )

    def set_problem(self, endpoint_id: str, problem: str | None) -> bool:
        """Flag (or clear) a tracking problem; True only for the caller that changed it, so it is said once."""
        condition = EndpointRow.problem.is_(None) if problem else EndpointRow.problem.is_not(None)
        return compare_and_set(
            self.session,
            EndpointRow,
            EndpointRow.id == endpoint_id,
            condition,
            problem=problem,
            problem_since=utcnow() if problem else None,
        )

    def mark_endpoint_deleted(self, endpoint_id: str) -> bool:
        """True only for the caller that marked it, so a deletion is announced once."""
        return compare_and_set(
            self.session,
            EndpointRow,
            EndpointRow.id == endpoint_id,
            EndpointRow.deleted_at.is_(None),
            deleted_at=utcnow(),
            delete_requested_by=None,
            delete_requested_at=None,
        )

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
        return compare_and_set(
            self.session,
            EndpointRow,
            EndpointRow.id == endpoint_id,
            EndpointRow.deleted_at.is_(None),
            EndpointRow.delete_requested_at.is_(None),
            delete_requested_by=user_id,
            delete_requested_at=utcnow(),
        )

    def drop_delete_request(self, endpoint_id: str) -> bool:
        """The deletion did not happen (Together refused it): the endpoint may be deleted again."""
        return compare_and_set(
            self.session,
            EndpointRow,
            EndpointRow.id == endpoint_id,
            EndpointRow.delete_requested_at.is_not(None),
            delete_requested_by=None,
            delete_requested_at=None,
        )

    def set_endpoint_settings(self, endpoint_id: str, **settings: int | str | None) -> None:
        """Remember settings changed after launch: display_name, min/max_replicas, inactive_timeout."""
        unknown = set(settings) - SETTINGS
        if unknown:
            raise ValueError(f"not endpoint settings: {sorted(unknown)}")
        if settings:
            self.session.execute(
                update(EndpointRow)
                .where(EndpointRow.id == endpoint_id)
                .values(**settings)
                .execution_options(synchronize_session=False)
            )


class StoreEndpoints:
    _sessions: sessionmaker[Session]

    def endpoint(self, endpoint_id: str) -> EndpointRecord | None:
        """One endpoint the bot launched, deleted or not."""
        with self._sessions() as session:
            row = session.get(EndpointRow, endpoint_id)
            return endpoint_record(row) if row is not None else None

    def endpoints(self, *, include_deleted: bool = False) -> list[EndpointRecord]:
        """Endpoints the bot launched, oldest first."""
        with self._sessions() as session:
            query = select(EndpointRow).order_by(EndpointRow.created_at, EndpointRow.id)
            if not include_deleted:
                query = query.where(EndpointRow.deleted_at.is_(None))
            return [endpoint_record(row) for row in session.scalars(query)]

    def tracked_endpoints(self) -> list[EndpointRecord]:
        """Endpoints the bot launched and that were not deleted."""
        with self._sessions() as session:
            rows = session.scalars(
                select(EndpointRow).where(EndpointRow.deleted_at.is_(None)).order_by(EndpointRow.created_at)
            )
            return [endpoint_record(row) for row in rows]

    def endpoints_in(self, states: Iterable[str]) -> list[EndpointRecord]:
        """Endpoints not deleted whose last known state is one of `states`."""
        with self._sessions() as session:
            rows = session.scalars(
                select(EndpointRow)
                .where(EndpointRow.deleted_at.is_(None), EndpointRow.state.in_(list(states)))
                .order_by(EndpointRow.created_at)
            )
            return [endpoint_record(row) for row in rows]

    def pending_deletes(self) -> list[EndpointRecord]:
        """Endpoints whose deletion was asked for and waits for Together to stop them first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(EndpointRow)
                .where(EndpointRow.deleted_at.is_(None), EndpointRow.delete_requested_at.is_not(None))
                .order_by(EndpointRow.delete_requested_at)
            )
            return [endpoint_record(row) for row in rows]

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
