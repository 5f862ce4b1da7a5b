"""The weekly digest's claim: which process posts this week's digest (see SpendDigestRow)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.store.store import Store
from bot.store.tables import SpendDigestRow


def claim_digest(store: Store, week: str, channel: str, worker: str, now: datetime, lease: timedelta) -> bool:
    """Whether `worker` may post `week`'s digest now: nobody claimed it, or a claim ran out unposted."""
    with store.transaction() as tx:
        taken = tx.session.execute(
            update(SpendDigestRow)
            .where(
                SpendDigestRow.week == week,
                SpendDigestRow.posted_at.is_(None),
                SpendDigestRow.claimed_until < now,
            )
            .values(claimed_by=worker, claimed_until=now + lease, channel_id=channel)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return True
        if tx.session.execute(select(SpendDigestRow.week).where(SpendDigestRow.week == week)).first():
            return False  # posted, or another process holds a live claim
    try:
        with store.transaction() as tx:
            tx.session.add(
                SpendDigestRow(week=week, channel_id=channel, claimed_by=worker, claimed_until=now + lease)
            )
    except IntegrityError:  # another process inserted it first
        return False
    return True


def mark_digest_posted(store: Store, week: str, worker: str, now: datetime) -> bool:
    with store.transaction() as tx:
        done = tx.session.execute(
            update(SpendDigestRow)
            .where(SpendDigestRow.week == week, SpendDigestRow.claimed_by == worker)
            .values(posted_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def release_digest(store: Store, week: str, worker: str, now: datetime, retry_in: timedelta) -> None:
    """Posting failed: let any process try again after `retry_in`."""
    with store.transaction() as tx:
        tx.session.execute(
            update(SpendDigestRow)
            .where(SpendDigestRow.week == week, SpendDigestRow.claimed_by == worker)
            .values(claimed_until=now + retry_in)
            .execution_options(synchronize_session=False)
        )
