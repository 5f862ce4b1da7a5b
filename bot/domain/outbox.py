"""The outbox as the Slack layer sees it: Slack updates the domain queued with the change they tell of.

The domain writes notifications in the same transaction as the change; whatever shows them (the Slack
publisher) claims them, reads the request they belong to, and says what became of each. The store
implements this port (`bot.store.Store`); the publisher depends on the port, never on the store.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from bot.domain.model import LaunchRequest, Notification


class Outbox(Protocol):
    def claim_notifications(self, worker: str, lease: timedelta, limit: int = 50) -> list[Notification]:
        """Due notifications, claimed by `worker` for `lease` (other processes skip them meanwhile)."""
        ...

    def get_request(self, request_id: int) -> LaunchRequest | None: ...

    def has_later_card(self, notification: Notification) -> bool:
        """A newer card render for the same request is queued, so this one can be skipped."""
        ...

    def record_card(self, request_id: int, ts: str) -> None:
        """The card of `request_id` was posted as message `ts` (later renders update it)."""
        ...

    def mark_delivered(self, notification_id: int) -> None: ...

    def mark_failed(self, notification_id: int, error: str, retry_in: timedelta) -> None: ...
