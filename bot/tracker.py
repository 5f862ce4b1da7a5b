"""The tracker: asks Together for the state of every endpoint the bot launched and records changes.

Each recorded change queues a thread reply and a card re-render (see LaunchService.record_state), which
the publisher delivers. Running it in several processes is safe: a change is recorded once.
"""

from __future__ import annotations

import logging

from bot.domain.launch import LaunchService
from bot.domain.provider import ProviderError

log = logging.getLogger(__name__)


def track(launches: LaunchService) -> int:
    """One tick: one list call to Together, a record per change. Returns the number of changes."""
    try:
        return launches.track_once()
    except ProviderError as exc:
        log.warning("tracker could not reach Together this tick: %s", exc)
        return 0
