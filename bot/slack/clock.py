"""Slack's three-second clock, and work that may ask Together under it.

Slack voids a trigger_id three seconds after the interaction that issued it, and gives up on an
acknowledgement (or an options request) after three seconds. Together can take longer than that. So work that
may ask Together runs on a pool of its own: a listener waits for it only for `TOGETHER_WAIT` seconds of
Slack's three, and when it is not done by then shows that it is checking and shows the result later
(`views.update`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from typing import TypeVar

from bot.slack.observe import ContextExecutor

T = TypeVar("T")

SLACK_CLOCK = 3.0  # seconds Slack waits for an acknowledgement, and a trigger_id lives
# Of those, how long an answer may wait for Together before it shows that it is checking instead: what
# is left is for Slack's own round trip (views.open, the HTTP answer) and for a loaded machine.
TOGETHER_WAIT = 1.0


class Clock:
    """Runs work that may ask Together, waiting for it only as long as Slack's clock allows."""

    def __init__(self, *, workers: int = 8, wait_seconds: float = TOGETHER_WAIT) -> None:
        self.wait_seconds = wait_seconds
        # In a copy of the request's context, so what it logs carries the request's ids
        self._pool = ContextExecutor(max_workers=workers, thread_name_prefix="together-ask")

    def attempt(self, work: Callable[[], T], *, since: float) -> Future[T]:
        """Start `work` and wait for it until `wait_seconds` after `since` (a `time.monotonic()` reading
        taken when Slack's request arrived). The future may not be done: then show that it is checking."""
        future = self._pool.submit(work)
        wait([future], timeout=max(0.0, since + self.wait_seconds - time.monotonic()))
        return future
