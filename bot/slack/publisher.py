"""Delivers queued notifications (the outbox) to Slack: cards posted or re-rendered, thread replies posted.

Slack being slow or down delays updates; it does not lose them. A reply waits for its card, and replies
for one request go out in the order they were written.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.model import LaunchRequest, Notification
from bot.slack.messages import Renderer
from bot.store.store import Store

log = logging.getLogger(__name__)

# Slack errors that no retry will fix; after a few tries the notification is set aside (and logged).
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "restricted_action",
        "message_not_found",
        "cant_update_message",
        "team_access_not_granted",
    }
)
PERMANENT_GIVE_UP_AFTER = 3
MAX_BACKOFF_SECONDS = 300.0
# How long a claimed notification stays with its publisher; longer than the Slack client's own retries.
CLAIM_LEASE = timedelta(minutes=2)


class Publisher:
    def __init__(self, store: Store, client: WebClient, renderer: Renderer) -> None:
        self.store = store
        self.client = client
        self.renderer = renderer

    def deliver_due(self) -> int:
        """Deliver what is due now; returns how many were delivered.

        Each pass releases the next notification of every request whose previous one went out, so
        passes repeat until one delivers nothing.
        """
        delivered = 0
        while True:
            batch = [n for n in self.store.due_notifications() if self.deliver(n)]
            if not batch:
                return delivered
            delivered += len(batch)

    def deliver(self, notification: Notification) -> bool:
        # A web and a worker process both publish: whoever claims a notification first delivers it.
        if not self.store.claim(notification.id, CLAIM_LEASE):
            return False
        request = self.store.get_request(notification.request_id)
        if request is None:  # cannot happen with the foreign key; never block the queue on it
            self.store.mark_delivered(notification.id)
            return False
        try:
            if notification.kind == "card":
                self._card(notification, request)
            else:
                self._reply(notification, request)
        except SlackApiError as exc:
            self._failed(notification, exc)
            return False
        except Exception as exc:  # connection errors after the client's own retries
            self._retry(notification, f"{type(exc).__name__}: {exc}", None)
            return False
        self.store.mark_delivered(notification.id)
        return True

    def _card(self, notification: Notification, request: LaunchRequest) -> None:
        text, blocks = self.renderer.card(request)
        if request.message_ts is None:
            response = self.client.chat_postMessage(
                channel=request.channel_id, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
            )
            with self.store.transaction() as tx:
                tx.set_message_ts(request.id, str(response["ts"]))
            return
        if self.store.has_later_card(notification):
            return  # a newer render is queued; it shows the same state or a later one
        self.client.chat_update(channel=request.channel_id, ts=request.message_ts, text=text, blocks=blocks)

    def _reply(self, notification: Notification, request: LaunchRequest) -> None:
        if request.message_ts is None:
            raise RuntimeError("the card has not been posted yet")
        text = self.renderer.thread_reply(request, notification.payload)
        state = notification.payload.get("state")
        # Ready and failed are worth the whole channel's attention, not only the thread's.
        broadcast = notification.payload.get("event") == "state" and state in ("STARTED", "ERROR", "FAILED")
        self.client.chat_postMessage(
            channel=request.channel_id,
            thread_ts=request.message_ts,
            text=text,
            reply_broadcast=broadcast,
            unfurl_links=False,
            unfurl_media=False,
        )

    def _failed(self, notification: Notification, exc: SlackApiError) -> None:
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        retry_after = None
        if exc.response is not None and exc.response.status_code == 429:
            retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
        if error in PERMANENT_ERRORS and notification.attempts + 1 >= PERMANENT_GIVE_UP_AFTER:
            log.error(
                "giving up on notification %s for request %s: Slack says %s",
                notification.id,
                notification.request_id,
                error,
            )
            self.store.mark_delivered(notification.id)
            return
        self._retry(notification, f"slack error {error or exc}", retry_after)

    def _retry(self, notification: Notification, why: str, retry_after: float | None) -> None:
        delay = (
            retry_after if retry_after is not None else min(MAX_BACKOFF_SECONDS, 2.0**notification.attempts)
        )
        delay *= 1 + random.random() * 0.2
        log.warning(
            "notification %s for request %s not delivered (%s); retrying in %.1fs",
            notification.id,
            notification.request_id,
            why,
            delay,
        )
        self.store.mark_failed(notification.id, why, timedelta(seconds=delay))
