"""The domain's clock: timezone-aware UTC, the one `now` every record and rule is stamped with."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Clock:
    """The time sources of one bot, shared by its parts so that a test moves them all at once.

    `now`: approvals, expiry, state history and the meter; `sleep`: waits between retries;
    `monotonic`: cache lifetimes and how long Together has been unreachable.
    """

    now: Callable[[], datetime] = utcnow
    sleep: Callable[[float], None] = field(default=time.sleep)
    monotonic: Callable[[], float] = field(default=time.monotonic)
