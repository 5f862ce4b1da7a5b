"""What Slack says of the bot token, learnt from every Slack call and from an `auth.test` at least every five
minutes (more often while the token is refused): /readyz reports it, `bot.readiness` reads it here."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

# Slack's answers meaning the token itself is no good (not a passing failure of one call).
TOKEN_REFUSED = frozenset(
    {"invalid_auth", "token_revoked", "account_inactive", "not_authed", "token_expired"}
)
CHECK_EVERY = 300.0  # seconds between auth.test checks while the token is accepted
RECHECK_REFUSED_EVERY = 15.0  # ... and while it is refused


class TokenHealth:
    """What Slack last said about the bot token: accepted, refused (with Slack's error), or not known yet."""

    def __init__(
        self, check: Callable[[], object] | None = None, clock: Callable[[], float] = time.monotonic
    ):
        self._check = check  # an auth.test call through a client that reports back here
        self._clock = clock
        self._lock = threading.Lock()
        self.refused: str | None = None
        self.known = False
        self.checked_at: float | None = None
        self.recheck_after = 5.0  # /readyz re-asks Slack at most this often while the token is refused

    def accepted(self) -> None:
        with self._lock:
            if self.refused is not None:
                log.warning("Slack accepts the bot token again")
            self.refused, self.known = None, True

    def saw_error(self, error: str) -> None:
        """A Slack answer; only the ones meaning the token is refused change anything."""
        if error not in TOKEN_REFUSED:
            return
        with self._lock:
            if self.refused != error:
                log.error(
                    "Slack refused the bot token (%s): readiness is off until it accepts it again", error
                )
            self.refused, self.known = error, True

    def check(self) -> None:
        """Ask Slack (auth.test) and note what it says of the token."""
        if self._check is None:
            return
        self.checked_at = self._clock()
        try:
            self._check()
        except Exception as exc:  # a Slack error answer carries its code; anything else says nothing
            response = getattr(exc, "response", None)
            error = response.get("error") if response is not None and hasattr(response, "get") else None
            if isinstance(error, str):
                self.saw_error(error)
            else:
                log.info("token check did not complete: %s", type(exc).__name__)
            return
        self.accepted()

    def interval(self) -> float:
        return RECHECK_REFUSED_EVERY if self.refused is not None else CHECK_EVERY

    def problem(self) -> str | None:
        """Why Slack is not usable, or None; asks Slack when it does not know or the refusal may be over."""
        stale = self.checked_at is None or self._clock() - self.checked_at >= self.recheck_after
        if not self.known or (self.refused is not None and stale):
            self.check()
        if self.refused is not None:
            return f"Slack refuses the bot token ({self.refused}): reinstall the app or set a valid SLACK_BOT_TOKEN"
        if not self.known:
            return "Slack could not be asked about the bot token yet"
        return None
