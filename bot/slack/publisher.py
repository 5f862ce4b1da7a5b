"""Delivers queued notifications (the outbox) to Slack: cards posted or re-rendered, thread replies posted.

Slack being slow or down delays updates; it does not lose them, reorder them, or post them twice:
- a reply waits for its card, and replies for one request go out in the order they were written;
- several processes share the outbox through claims with a lease;
- every post carries message metadata naming its notification, so a retry after an attempt whose
  outcome is unknown (a timeout, a 5xx, a crash) first looks for the message it may already have posted.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, assert_never

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import metrics
from bot.domain.cost.meter import Meter
from bot.domain.events import (
    ActionDone,
    ActionFailed,
    Approved,
    Duplicate,
    Event,
    Expired,
    FirstReplica,
    KeptRunning,
    Launched,
    LaunchFailed,
    Reachable,
    Rejected,
    Reminder,
    SmokeTest,
    StateChanged,
    Unreachable,
    Withdrawn,
)
from bot.domain.model import LaunchRequest, Notification
from bot.domain.outbox import Outbox
from bot.logs import log_context
from bot.slack.views.card import card_refused_text
from bot.slack.views.renderer import Renderer
from bot.slack.views.thread import read_event

log = logging.getLogger(__name__)

EVENT_TYPE = "endpoint_bot_update"
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
# Slack will not post where the app is not a member (private channels, DMs between people).
NOT_A_MEMBER = frozenset({"channel_not_found", "not_in_channel"})
MAX_BACKOFF_SECONDS = 300.0
CLAIM_LEASE = timedelta(seconds=60)


def broadcasts(event: Event | None) -> bool:
    """Coming up (v1 STARTED, v2 READY, once per start: not after a rescale) and failing are worth the
    whole channel's attention, not only the thread's. Replies queued before `came_up` existed: STARTED."""
    match event:
        case StateChanged(state=state):
            if state in ("ERROR", "FAILED"):
                return True
            came_up = event.came_up if event.came_up is not None else state == "STARTED"
            return state in ("STARTED", "READY") and came_up
        case (
            Approved()
            | Rejected()
            | Withdrawn()
            | Expired()
            | Launched()
            | LaunchFailed()
            | Duplicate()
            | Unreachable()
            | Reachable()
            | FirstReplica()
            | SmokeTest()
            | Reminder()
            | KeptRunning()
            | ActionDone()
            | ActionFailed()
            | None
        ):
            return False
        case _:
            assert_never(event)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Publisher:
    def __init__(
        self,
        store: Outbox,
        client: WebClient,
        renderer: Renderer,
        *,
        worker: str | None = None,
        base_delay: float = 1.0,
        costs: Callable[[LaunchRequest], Meter | None] = lambda _request: None,
    ) -> None:
        self.costs = costs  # the endpoint's running-cost meter, for the card
        self.base_delay = base_delay  # the first retry comes after about this many seconds, then doubles
        self.store = store
        self.client = client
        self.renderer = renderer
        self.worker = worker or worker_id()

    def deliver_due(self) -> int:
        """Deliver what is due now; returns how many were delivered.

        Each pass releases the next notification of every request whose previous one went out, so
        passes repeat until one delivers nothing.
        """
        delivered = 0
        while True:
            claimed = self.store.claim_notifications(self.worker, CLAIM_LEASE)
            batch = [n for n in claimed if self.deliver(n)]
            if not batch:
                return delivered
            delivered += len(batch)

    def deliver(self, notification: Notification) -> bool:
        request = self.store.get_request(notification.request_id)
        if request is None:  # cannot happen with the foreign key; never block the queue on it
            self.store.mark_delivered(notification.id)
            return False
        endpoint_id = request.endpoint.id if request.endpoint is not None else None
        with log_context(request_id=request.id, endpoint_id=endpoint_id):
            try:
                if notification.kind == "card":
                    self._card(notification, request)
                else:
                    self._reply(notification, request)
            except SlackApiError as exc:
                metrics.count_outbox_failure()
                self._failed(notification, exc)
                return False
            except Exception as exc:  # connection errors and timeouts: the post may or may not have happened
                metrics.count_outbox_failure()
                self._retry(notification, f"{type(exc).__name__}: {exc}", None)
                return False
        self.store.mark_delivered(notification.id)
        return True

    # --- cards ----------------------------------------------------------------------------------

    def _card(self, notification: Notification, request: LaunchRequest) -> None:
        text, blocks = self.renderer.card(request, self.costs(request))
        if request.message_ts is None:
            ts = self._posted_before(notification, request) if notification.attempts else None
            if ts is None:
                # A change request's card goes in its endpoint's thread, and to the channel too.
                parent = self._thread_of(request) if request.change_of is not None else None
                response = self.client.chat_postMessage(
                    channel=request.channel_id,
                    text=text,
                    blocks=blocks,
                    thread_ts=parent,
                    reply_broadcast=bool(parent),
                    metadata=self._metadata(notification),
                    unfurl_links=False,
                    unfurl_media=False,
                )
                ts = str(response["ts"])
            self.store.record_card(request.id, ts)
            return
        if self.store.has_later_card(notification):
            return  # a newer render is queued; it shows the same state or a later one
        # An update is idempotent: the card is re-rendered whole from the database.
        self.client.chat_update(channel=request.channel_id, ts=request.message_ts, text=text, blocks=blocks)

    # --- thread replies -------------------------------------------------------------------------

    def _thread_of(self, request: LaunchRequest) -> str | None:
        """The ts of the thread a request's replies go in: its card's, or for a change its launch card's."""
        if request.change_of is None:
            return request.message_ts
        launch = self.store.get_request(request.change_of)
        return launch.message_ts if launch is not None else None

    def _reply(self, notification: Notification, request: LaunchRequest) -> None:
        if request.message_ts is None:
            raise RuntimeError("the card has not been posted yet")
        if notification.attempts and self._posted_before(notification, request):
            return
        event = read_event(notification.payload)
        text, blocks = self.renderer.thread_message(request, event)
        broadcast = broadcasts(event)
        self.client.chat_postMessage(
            channel=request.channel_id,
            thread_ts=self._thread_of(request) or request.message_ts,
            text=text,
            blocks=blocks,
            reply_broadcast=broadcast,
            metadata=self._metadata(notification),
            unfurl_links=False,
            unfurl_media=False,
        )

    # --- finding what an earlier attempt may have posted ----------------------------------------

    def _metadata(self, notification: Notification) -> dict[str, Any]:
        return {
            "event_type": EVENT_TYPE,
            "event_payload": {"notification_id": notification.id, "request_id": notification.request_id},
        }

    def _posted_before(self, notification: Notification, request: LaunchRequest) -> str | None:
        """The ts of a message an earlier attempt posted for this notification, if Slack has one."""
        try:
            if request.message_ts is None:
                response = self.client.conversations_history(
                    channel=request.channel_id, limit=100, include_all_metadata=True
                )
            else:
                response = self.client.conversations_replies(
                    channel=request.channel_id,
                    ts=self._thread_of(request) or request.message_ts,
                    limit=200,
                    include_all_metadata=True,
                )
        except SlackApiError as exc:
            # Without history access the bot cannot check; posting again is the lesser harm than losing it.
            log.warning("could not check for an earlier post of notification %s: %s", notification.id, exc)
            return None
        for message in response.get("messages") or []:
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == EVENT_TYPE and payload.get("notification_id") == notification.id:
                return str(message.get("ts"))
        return None

    # --- failures -------------------------------------------------------------------------------

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
            if notification.kind == "card" and error in NOT_A_MEMBER:
                self._tell_card_refused(notification)
            return
        self._retry(notification, f"slack error {error or exc}", retry_after)

    def _tell_card_refused(self, notification: Notification) -> None:
        """The requester learns, in their DM with the bot, that their card could not be posted and why."""
        request = self.store.get_request(notification.request_id)
        if request is None or request.message_ts is not None:
            return  # the card was posted once: only an update failed, and the thread shows the rest
        try:
            self.client.chat_postMessage(
                channel=request.requested_by,
                text=card_refused_text(request, self.renderer.catalog),
                unfurl_links=False,
            )
        except SlackApiError as exc:
            log.warning("could not tell %s that their card was refused: %s", request.requested_by, exc)

    def _retry(self, notification: Notification, why: str, retry_after: float | None) -> None:
        delay = (
            retry_after
            if retry_after is not None
            else min(MAX_BACKOFF_SECONDS, self.base_delay * 2.0 ** max(0, notification.attempts - 1))
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
