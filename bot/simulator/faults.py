"""Trouble on demand for the simulator: queued faults, random chaos and slow answers, for both APIs.

`Faults` keeps the rules and says what a request meets (`take`, `latency_for`); the core applies them.
Thread-safe: it has its own lock and calls nothing back.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass

# Together's messages and error types for the statuses a fault usually plays.
FAULT_BODIES: dict[int, tuple[str, str]] = {
    429: ("Rate limit exceeded. Please slow down and try again later.", "rate_limit_exceeded"),
    500: ("Internal server error", "server_error"),
    502: ("Bad gateway", "server_error"),
    503: ("The server is overloaded or not ready yet.", "service_unavailable"),
    504: ("Gateway timeout", "server_error"),
}


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int
    retry_after: float | None
    after_commit: bool
    delay: float


def fault_answer(status: int, retry_after: float | None) -> tuple[str, str, dict[str, str]]:
    """(message, error type, headers) of a fault's answer; a 429 carries `Retry-After` (default 1 s)."""
    message, type_ = FAULT_BODIES.get(status, (f"Simulated failure (HTTP {status})", "server_error"))
    headers = {"Content-Type": "application/json"}
    if status == 429:
        seconds = 1.0 if retry_after is None else retry_after
        headers["Retry-After"] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
    elif retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return message, type_, headers


class Faults:
    """Injected faults (in order), a chaos rate, and latency rules."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: list[Fault] = []
        self._chaos_rate = 0.0
        self._chaos_statuses: tuple[int, ...] = ()
        self._chaos_random = random.Random()
        self._latency: dict[tuple[str, str], tuple[re.Pattern[str], float]] = {}

    def inject(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        after_commit: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Queue a fault for the next `times` requests matching method (`*` = any) and path.

        The path is matched with `re.fullmatch` against e.g. `/v1/endpoints/endpoint-...`.

        `status` ≥ 400 answers that error (429 carries `Retry-After`, default 1 s). With
        `after_commit` the request is carried out first and only then answered with the error.
        `delay` sleeps that many real seconds before answering; with a status below 400 the answer
        is the normal one, only late.
        """
        fault = Fault(method.upper(), re.compile(path_regex), status, times, retry_after, after_commit, delay)
        with self._lock:
            self._queued.append(fault)

    def clear(self) -> None:
        """Forget the queued faults (chaos and latency have their own off switches)."""
        with self._lock:
            self._queued.clear()

    def chaos(
        self, rate: float, statuses: tuple[int, ...] = (429, 500, 503), seed: int | None = None
    ) -> None:
        """Fail this share of authenticated requests at random with one of `statuses`; 0 turns it off."""
        with self._lock:
            self._chaos_rate = rate
            self._chaos_statuses = tuple(statuses)
            self._chaos_random = random.Random(seed)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault this request meets, if any: the first queued one that matches, else chaos's."""
        with self._lock:
            for fault in self._queued:
                if fault.method in (method, "*") and fault.pattern.fullmatch(path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._queued.remove(fault)
                    return fault
            rate, statuses = self._chaos_rate, self._chaos_statuses
            if rate > 0 and statuses and self._chaos_random.random() < rate:
                status = self._chaos_random.choice(statuses)
                return Fault(method, re.compile(".*"), status, 1, None, False, 0.0)
        return None

    def set_latency(self, seconds: float, *, method: str = "*", path: str = ".*") -> None:
        """Answer every request matching `method` (`*` = any) and `path` (a regex, `re.fullmatch`ed against
        e.g. `/v1/hardware`) `seconds` late, in real time, until changed; 0 removes the rule.

        Together can take several seconds (a cold catalogue, a loaded region); this plays it. The wait is
        real because what it tests is real: Slack's three-second clock runs on the wall. Where several
        rules match, the one set last applies. The work is done after the wait, as a slow server does it.
        """
        if seconds < 0:
            raise ValueError("latency can't be negative")
        key = (method.upper(), path)
        with self._lock:
            self._latency.pop(key, None)
            if seconds > 0:
                self._latency[key] = (re.compile(path), float(seconds))

    def clear_latency(self) -> None:
        """Answer at full speed again."""
        with self._lock:
            self._latency.clear()

    def latency_for(self, method: str, path: str) -> float:
        """The seconds a request to `method path` waits before its answer (0: none)."""
        with self._lock:
            rules = list(self._latency.items())
        for (rule_method, _), (pattern, seconds) in reversed(rules):
            if rule_method in (method.upper(), "*") and pattern.fullmatch(path):
                return seconds
        return 0.0
