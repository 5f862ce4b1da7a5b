"""Background loops: the launcher, the state tracker and the Slack publisher run on these."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Loop:
    """Calls `work` every `interval` seconds (a number, or a function asked after each run), or at once
    when kicked. A failure is logged, never fatal."""

    def __init__(self, name: str, work: Callable[[], object], interval: float | Callable[[], float]) -> None:
        self.name = name
        self.work = work
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_once(self) -> object:
        try:
            return self.work()
        except Exception:
            log.exception("%s failed; it will try again", self.name)
            return None

    def _next_interval(self) -> float:
        if not callable(self.interval):
            return self.interval
        try:
            return self.interval()
        except Exception:
            log.exception("%s could not work out when to run next", self.name)
            return 5.0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._wake.wait(self._next_interval())
            self._wake.clear()
