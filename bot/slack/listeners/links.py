"""Links to request cards, for lists, status answers and the App Home."""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.model import LaunchRequest
from bot.slack.views.endpoints import Links

log = logging.getLogger(__name__)


class Permalinks:
    """Links to request cards, asked of Slack once each (a message's permalink never changes)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def for_requests(self, client: WebClient, requests: list[LaunchRequest]) -> Links:
        links: Links = {}
        for request in requests:
            if request.message_ts is None:
                continue
            key = (request.channel_id, request.message_ts)
            with self._lock:
                link = self._cache.get(key)
            if link is None:
                try:
                    response = client.chat_getPermalink(
                        channel=request.channel_id, message_ts=request.message_ts
                    )
                except SlackApiError as exc:
                    log.info("no permalink for request %s: %s", request.id, exc.response.get("error"))
                    continue
                link = str(response["permalink"])
                with self._lock:
                    self._cache[key] = link
            links[request.id] = link
        return links
