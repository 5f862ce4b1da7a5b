"""`/endpoint spend`: the breakdown as text, its chart and CSV uploaded to the person's DM with the bot, and
the chart shown in the private answer. No rules here: the figures come from bot.domain.cost.spend_views."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.command import SpendCommand
from bot.domain.cost.spend_views import SpendViews
from bot.slack.uploads import SlackNames, dm_channel, upload_spend_files
from bot.slack.views.spend import spend_blocks, spend_text, title_of

log = logging.getLogger(__name__)


class SpendAnswers:
    """Answers `/endpoint spend …` for one person: text and chart, privately."""

    def __init__(self, views: SpendViews) -> None:
        self.views = views
        self.names = SlackNames()

    def answer(self, parsed: SpendCommand, user: str, client: WebClient) -> tuple[str, list[dict[str, Any]]]:
        window = self.views.window(parsed.window)
        view = self.views.view(window, parsed.by or "person")
        text = spend_text(view, parsed.by)
        try:
            channel = dm_channel(client, user)
            comment = (
                f"{title_of(view, view.by)}: {view.total_text.removeprefix('≈ ')}. "
                "The chart, and the CSV with one row per endpoint per day."
            )
            chart, _csv = upload_spend_files(
                client, channel, view, self.names.labeller(client, view, self.views), comment
            )
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            log.warning("could not upload the spend chart: %s", error)
            return text, spend_blocks(text, None, view, problem=error)
        return text, spend_blocks(text, chart, view)
