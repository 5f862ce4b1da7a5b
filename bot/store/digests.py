"""The weekly digest's claim: which process posts this week's digest (see SpendDigestRow). Part of `Store`;
the domain's `DigestClaims` port names what the digest poster uses."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.store.cas import compare_and_set
from bot.store.tables import SpendDigestRow


class StoreDigests:
    _sessions: sessionmaker[Session]

    def claim_digest(self, week: str, channel: str, worker: str, now: datetime, lease: timedelta) -> bool:
        """Whether `worker` may post `week`'s digest now: nobody claimed it, or a claim ran out unposted."""
        with self._sessions.begin() as session:
            if compare_and_set(
                session,
                SpendDigestRow,
                SpendDigestRow.week == week,
                SpendDigestRow.posted_at.is_(None),
                SpendDigestRow.claimed_until < now,
                claimed_by=worker,
                claimed_until=now + lease,
                channel_id=channel,
            ):
                return True
            if session.execute(select(SpendDigestRow.week).where(SpendDigestRow.week == week)).first():
                return False  # posted, or another process holds a live claim
        try:
            with self._sessions.begin() as session:
                session.add(
                    SpendDigestRow(
                        week=week, channel_id=channel, claimed_by=worker, claimed_until=now + lease
                    )
                )
        except IntegrityError:  # another process inserted it first
            return False
        return True

    def mark_digest_posted(self, week: str, worker: str, now: datetime) -> bool:
        with self._sessions.begin() as session:
            return compare_and_set(
                session,
                SpendDigestRow,
                SpendDigestRow.week == week,
                SpendDigestRow.claimed_by == worker,
                posted_at=now,
            )

    def release_digest(self, week: str, worker: str, now: datetime, retry_in: timedelta) -> None:
        """Posting failed: let any process try again after `retry_in`."""
        with self._sessions.begin() as session:
            session.execute(
                update(SpendDigestRow)
                .where(SpendDigestRow.week == week, SpendDigestRow.claimed_by == worker)
                .values(claimed_until=now + retry_in)
                .execution_options(synchronize_session=False)
            )
