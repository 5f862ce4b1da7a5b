"""Failures the pretend Slack injects on demand: rate limits, 5xx, Slack-level errors, lost answers.

A test (or the shell's chaos switch) sets rules through :meth:`FakeSlack.fail` and
:meth:`FakeSlack.fail_rate`; the fake asks :meth:`FailureRules.take` before running each call.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from bot.sandbox.fake_slack_http import Reply

_ERRORS_BY_STATUS = {429: "ratelimited", 500: "fatal_error", 502: "bad_gateway", 503: "service_unavailable"}


@dataclass
class Failure:
    """One rule: fail the next ``remaining`` calls of ``method`` (None: until cleared)."""

    method: str
    status: int
    remaining: int | None
    retry_after: int | None
    error: str | None
    after_commit: bool = False

    def reply(self) -> Reply:
        """What Slack answers: an error body, and ``Retry-After`` on a 429."""
        error = self.error or _ERRORS_BY_STATUS.get(self.status, f"http_{self.status}")
        headers = {}
        if self.status == 429:
            headers["Retry-After"] = str(1 if self.retry_after is None else self.retry_after)
        return Reply(self.status, {"ok": False, "error": error}, headers)


class FailureRules:
    """The failure rules of one fake; its owner calls it under the fake's lock."""

    def __init__(self) -> None:
        self._rules: list[Failure] = []
        self._rate = 0.0
        self._rate_statuses: tuple[int, ...] = (429, 503)
        self._rate_methods: frozenset[str] | None = None
        self._rate_retry_after = 0
        self._rng = random.Random()

    def add(self, rule: Failure) -> None:
        self._rules.append(rule)

    def set_rate(
        self,
        rate: float,
        statuses: Iterable[int],
        seed: int | None,
        methods: Iterable[str] | None,
        retry_after: int,
    ) -> None:
        self._rate = rate
        self._rate_statuses = tuple(statuses)
        self._rate_methods = frozenset(methods) if methods is not None else None
        self._rate_retry_after = retry_after
        self._rng = random.Random(seed)

    def clear(self) -> None:
        self._rules.clear()
        self._rate = 0.0

    def take(self, method: str) -> Failure | None:
        """The rule that fails this call of ``method`` (using one of its times), or None."""
        for rule in self._rules:
            if rule.method == method and (rule.remaining is None or rule.remaining > 0):
                if rule.remaining is not None:
                    rule.remaining -= 1
                return rule
        self._rules = [r for r in self._rules if r.remaining is None or r.remaining > 0]
        in_scope = (
            method in self._rate_methods if self._rate_methods is not None else method != "response_url"
        )
        if self._rate > 0 and in_scope and self._rng.random() < self._rate:
            status = self._rng.choice(self._rate_statuses)
            return Failure(method, status, 0, self._rate_retry_after, None)
        return None
