"""The domain's clock: timezone-aware UTC, the one `now` every record and rule is stamped with."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
