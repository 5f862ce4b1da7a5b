"""Spend files shared in Slack: the chart and CSV uploaded in one share (Slack's upload flow:
files.getUploadURLExternal, the bytes, files.completeUploadExternal), and the names the chart shows for
people and channels (it cannot show <@U…>). Used by `/endpoint spend` and the weekly digest."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.cost.spend_views import SpendView, SpendViews
from bot.slack.views.spend import file_stem
from bot.slack.views.spend_files import spend_chart, spend_csv

log = logging.getLogger(__name__)


class SlackNames:
    """People's and channels' names for the chart (which cannot show <@U…>), asked of Slack once each."""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def labeller(self, client: WebClient, view: SpendView, views: SpendViews) -> Callable[[str], str]:
        def label(key: str) -> str:
            if view.by == "person":
                return self._ask(key, lambda: _user_name(client, key))
            if view.by == "channel":
                return self._ask(key, lambda: _channel_name(client, key))
            return views.label(view, key)

        return label

    def _ask(self, key: str, fetch: Callable[[], str | None]) -> str:
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        try:
            name = fetch() or key
        except SlackApiError as exc:  # e.g. missing_scope: the id is still a true label
            log.info("no name for %s: %s", key, exc.response.get("error"))
            return key
        with self._lock:
            self._cache[key] = name
        return name


def _user_name(client: WebClient, user: str) -> str | None:
    info = client.users_info(user=user)["user"]
    profile = info.get("profile") or {}
    return profile.get("display_name") or info.get("real_name") or info.get("name")


def _channel_name(client: WebClient, channel: str) -> str | None:
    name = client.conversations_info(channel=channel)["channel"].get("name")
    return f"#{name}" if name else None


def upload_spend_files(
    client: WebClient, channel: str, view: SpendView, label: Callable[[str], str], comment: str
) -> list[str]:
    """Upload the chart and the CSV to `channel` in one share with `comment`; their file ids (chart first)."""
    stem = file_stem(view)
    title = f"Spend by {view.by}, {view.window.label}"
    response = client.files_upload_v2(
        file_uploads=[
            {
                "file": spend_chart(view, label),
                "filename": f"{stem}.png",
                "title": title,
                "alt_txt": f"{title}: {view.total_text}, daily stacked bars by {view.by}",
            },
            {"content": spend_csv(view), "filename": f"{stem}.csv", "title": f"{title} (CSV)"},
        ],
        channel=channel,
        initial_comment=comment,
    )
    return [str(f["id"]) for f in response["files"]]


def dm_channel(client: WebClient, user: str) -> str:
    return str(client.conversations_open(users=user)["channel"]["id"])
