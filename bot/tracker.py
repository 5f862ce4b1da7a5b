"""The tracker: asks Together for the state of every endpoint the bot launched and records changes.

Deletions that wait for Together to stop an endpoint first (v2) are finished here too, once it has.
Each recorded change queues a thread reply and a card re-render (see LaunchService.record_state), which
the publisher delivers. Running it in several processes is safe: a change is recorded once.
"""

from __future__ import annotations

import logging
import time

from bot import metrics
from bot.domain.launch import LaunchService
from bot.domain.lifecycle import LifecycleService
from bot.domain.provider import ProviderError

log = logging.getLogger(__name__)


def track(launches: LaunchService, lifecycle: LifecycleService) -> int:
    """One tick: one list call to Together, a record per change; then the deletions that were waiting
    for a stop and whose endpoints are now stopped. Returns the number of changes."""
    started = time.perf_counter()
    succeeded = False
    try:
        changes = launches.track_once()
        succeeded = True
    except ProviderError as exc:
        log.warning("tracker could not reach Together this tick: %s", exc)
        return 0
    finally:
        metrics.observe_tracker_tick(time.perf_counter() - started, succeeded=succeeded)
    try:
        changes += lifecycle.finish_deletes()
    except ProviderError as exc:
        log.warning("tracker could not finish a deletion this tick: %s", exc)
    return changes
