"""The simulator's clocks: simulated time that moves when told (`ManualClock`) or runs scaled (`ScaledClock`).

Endpoint states are derived from the clock on every request, so no background thread runs.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, in simulated time."""
        ...


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_777_888_000.0) -> None:  # 2026-05-04
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class ScaledClock:
    """Real time multiplied by `speed`: at speed 60 a 3-minute STARTING lasts 3 real seconds."""

    def __init__(self, speed: float = 1.0, *, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = speed
        self._start = time.time() if start is None else start
        self._t0 = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._t0) * self._speed
