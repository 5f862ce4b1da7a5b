"""The queries of a start's progress and of the smoke test (bot/domain/progress.py, bot/domain/smoke.py).

Every write is a compare-and-set, so several trackers or smoke testers do each thing once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update

from bot.domain.model import EndpointRecord
from bot.store.cas import compare_and_set
from bot.store.records import endpoint_record
from bot.store.store import Store, Tx
from bot.store.tables import EndpointRow


@dataclass(frozen=True)
class StartupSeen:
    phase: str | None
    ready: int
    desired: int


def set_startup(
    tx: Tx, endpoint: EndpointRecord, seen: StartupSeen, *, since: datetime, at: datetime
) -> bool:
    """Record what a start shows now, if it still shows what `endpoint` says (compare-and-set)."""
    return compare_and_set(
        tx.session,
        EndpointRow,
        EndpointRow.id == endpoint.id,
        EndpointRow.state == endpoint.state,
        _same(EndpointRow.startup_phase, endpoint.startup_phase),
        _same(EndpointRow.startup_ready, endpoint.startup_ready),
        _same(EndpointRow.startup_desired, endpoint.startup_desired),
        startup_phase=seen.phase,
        startup_ready=seen.ready,
        startup_desired=seen.desired,
        startup_since=endpoint.startup_since or since,
        startup_seen_at=at,
    )


def take_card_turn(tx: Tx, endpoint_id: str, *, at: datetime, every: timedelta) -> bool:
    """Whether a progress card edit may go now (none in the last `every`); if so, its time is taken.
    If not, the change is marked pending for a later tick."""
    if compare_and_set(
        tx.session,
        EndpointRow,
        EndpointRow.id == endpoint_id,
        or_(EndpointRow.progress_card_at.is_(None), EndpointRow.progress_card_at <= at - every),
        progress_card_at=at,
        progress_pending=False,
    ):
        return True
    tx.session.execute(
        update(EndpointRow)
        .where(EndpointRow.id == endpoint_id)
        .values(progress_pending=True)
        .execution_options(synchronize_session=False)
    )
    return False


def say_first_serving(tx: Tx, endpoint_id: str, at: datetime) -> bool:
    """Claim the "first replica serves" reply of this start (once)."""
    return compare_and_set(
        tx.session,
        EndpointRow,
        EndpointRow.id == endpoint_id,
        EndpointRow.first_serving_at.is_(None),
        first_serving_at=at,
    )


def clear_startup(tx: Tx, endpoint_id: str) -> None:
    """The start is over (the endpoint serves, stopped or failed): the card shows its state alone."""
    tx.session.execute(
        update(EndpointRow)
        .where(EndpointRow.id == endpoint_id)
        .values(
            startup_phase=None,
            startup_ready=None,
            startup_desired=None,
            startup_since=None,
            startup_seen_at=None,
            progress_pending=False,
            first_serving_at=None,
        )
        .execution_options(synchronize_session=False)
    )


# --- the smoke test ---------------------------------------------------------------------------


def ask_smoke_test(tx: Tx, endpoint_id: str, at: datetime) -> None:
    tx.session.execute(
        update(EndpointRow)
        .where(EndpointRow.id == endpoint_id)
        .values(smoke_due_at=at)
        .execution_options(synchronize_session=False)
    )


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(
        EndpointRow.deleted_at.is_(None),
        EndpointRow.smoke_due_at.is_not(None),
        or_(EndpointRow.smoke_done_at.is_(None), EndpointRow.smoke_done_at < EndpointRow.smoke_due_at),
        or_(EndpointRow.smoke_claimed_until.is_(None), EndpointRow.smoke_claimed_until < now),
    )


def due_smoke_tests(store: Store, now: datetime) -> list[tuple[EndpointRecord, datetime]]:
    """Endpoints whose smoke test is asked for and nobody runs, with when it was asked."""
    with store._sessions() as session:
        rows = session.scalars(select(EndpointRow).where(_due(now)).order_by(EndpointRow.smoke_due_at))
        return [(endpoint_record(row), row.smoke_due_at) for row in rows if row.smoke_due_at is not None]


def claim_smoke_test(store: Store, endpoint_id: str, now: datetime, lease: timedelta) -> bool:
    with store.transaction() as tx:
        return compare_and_set(
            tx.session, EndpointRow, EndpointRow.id == endpoint_id, _due(now), smoke_claimed_until=now + lease
        )


def finish_smoke_test(tx: Tx, endpoint_id: str, at: datetime) -> None:
    tx.session.execute(
        update(EndpointRow)
        .where(EndpointRow.id == endpoint_id)
        .values(smoke_done_at=at, smoke_claimed_until=None)
        .execution_options(synchronize_session=False)
    )


def _same(column: Any, value: object) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value
