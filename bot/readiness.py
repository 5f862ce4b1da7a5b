"""Readiness: whether this process can do its work now (GET /readyz), as opposed to being alive (/healthz).

Ready means the database answers and is migrated, and Slack accepts the bot's token. The token's standing
is learnt from every Slack call the bot makes (an answer `invalid_auth`, `token_revoked` or
`account_inactive` turns readiness off at once; any accepted call turns it back on) and from an `auth.test`
at least every five minutes, more often while the token is refused, so that a reinstated app is seen soon.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine

from bot.slack.token_health import TokenHealth
from bot.store.db import current_heads, schema_heads

log = logging.getLogger(__name__)


@dataclass
class Readiness:
    engine: Engine
    token: TokenHealth

    def __post_init__(self) -> None:
        self._heads = schema_heads(self.engine)

    def database_problem(self) -> str | None:
        try:
            current = current_heads(self.engine)  # also the reachability check: one round trip
        except Exception as exc:
            return f"database unreachable ({type(exc).__name__})"
        if current != self._heads:
            return "database not migrated: run `bot migrate`"
        return None

    def problems(self) -> dict[str, str]:
        """What is wrong, by component (empty: ready)."""
        found = {}
        if (database := self.database_problem()) is not None:
            found["database"] = database
        if (slack := self.token.problem()) is not None:
            found["slack"] = slack
        return found
