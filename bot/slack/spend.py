"""`/endpoint spend` in Slack: the breakdown as text, its chart and CSV uploaded to the person's DM with
the bot (Slack's upload flow: files.getUploadURLExternal, the bytes, files.completeUploadExternal), and
the chart shown in the private answer. No rules here: the figures come from bot.domain.spend_views.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.command import SpendCommand
from bot.domain.cost.meter import Meter, duration_text
from bot.domain.cost.spend_views import Group, MonthSpend, SpendView, SpendViews
from bot.slack.text import code, escape, mention, truncate
from bot.spend_files import spend_chart, spend_csv

log = logging.getLogger(__name__)

MAX_LINES = 40


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


# --- text ---------------------------------------------------------------------------------------


def _span(seconds: int) -> str:
    return duration_text(timedelta(seconds=seconds))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def title_of(view: SpendView, by: str | None) -> str:
    w = view.window
    where = f"in {w.label}" if w.month else f"over {w.label}"
    what = f"Spend by {view.by} {where}" if by else f"Spend {where}"
    return f"*{what}* ({w.since:%Y-%m-%d %H:%M} – {w.until:%Y-%m-%d %H:%M} UTC)"


def group_line(view: SpendView, g: Group) -> str:
    if view.by == "person":
        who = mention(g.key)
    elif view.by == "channel":
        who = f"<#{g.key}>"
    elif view.by == "endpoint":
        requester = next(r.requested_by for r in view.rows if r.endpoint_id == g.key)
        return (
            f"• *{escape(view.names.get(g.key, g.key))}* ({code(g.key)}) · {mention(requester)} · "
            f"{_span(g.serving_seconds)} · {g.cost_text}"
        )
    else:
        who = code(g.key)
    return f"• {who} · {_plural(g.endpoints, 'endpoint')} · {_span(g.serving_seconds)} · {g.cost_text}"


def spend_text(view: SpendView, by: str | None) -> str:
    """The answer: the total, then the breakdown asked for, or by endpoint and by person by default."""
    title = title_of(view, by)
    if not view.rows:
        return f"{title}\nNo endpoint launched through the bot served in that time: $0.00."
    endpoints = len({r.endpoint_id for r in view.rows})
    lines = [
        title,
        f"Total: *{view.total_text}* over {_span(view.serving_seconds)} serving, "
        f"{_plural(endpoints, 'endpoint')}",
    ]
    if by:
        sections = [(view, f"*By {view.by}*")]
    else:
        sections = [
            (replace(view, by="endpoint"), "*By endpoint*"),
            (replace(view, by="person"), "*By person* (who asked for the launch)"),
        ]
    for shown, heading in sections:
        lines.append(heading)
        lines += [group_line(shown, g) for g in shown.groups()[:MAX_LINES]]
    if not view.exact:
        lines.append(
            "_A range is from the fewest to the most replicas allowed: Together's v1 API does not say how "
            "many ran._"
        )
    return truncate("\n".join(lines), 3000)


# --- files --------------------------------------------------------------------------------------


def file_stem(view: SpendView) -> str:
    w = view.window
    return f"spend-by-{view.by}-{w.since:%Y%m%d}-{w.until:%Y%m%d}"


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


class SpendAnswers:
    """Answers `/endpoint spend …` for one person: text and chart, privately."""

    def __init__(self, views: SpendViews) -> None:
        self.views = views
        self.names = SlackNames()

    def answer(self, parsed: SpendCommand, user: str, client: WebClient) -> tuple[str, list[dict[str, Any]]]:
        window = self.views.window(parsed.window)
        view = self.views.view(window, parsed.by or "person")
        text = spend_text(view, parsed.by)
        blocks: list[dict[str, Any]] = [_section(text)]
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
            blocks.append(
                _context(
                    f"I couldn't attach the chart: Slack said `{error or 'no reason given'}`. The app needs the "
                    "`files:write` and `im:write` scopes: whoever runs the bot can add them from `bot manifest` "
                    "and reinstall the app. `bot spend --chart spend.png` draws it on the command line."
                )
            )
            return text, blocks
        blocks.append(
            {
                "type": "image",
                "slack_file": {"id": chart},
                "alt_text": f"Spend by {view.by}, {view.window.label}: {view.total_text}",
            }
        )
        blocks.append(_context("The chart and its CSV are in your DM with the bot."))
        return text, blocks


# --- App Home ------------------------------------------------------------------------------------

BAR_CELLS = 10


def text_bar(spent: Meter, budget: float) -> str:
    """`▓▓▓▓░░░░░░ $412 of $1,000`: filled by what was surely spent (the low end, as budgets count)."""
    filled = min(BAR_CELLS, round(BAR_CELLS * spent.low / budget)) if budget > 0 else BAR_CELLS
    amount = _whole(spent.low) if spent.exact else f"{_whole(spent.low)}–{_whole(spent.high)}"
    used_up = " · used up" if spent.low >= budget else ""
    return f"`{'▓' * filled}{'░' * (BAR_CELLS - filled)}` {amount} of {_whole(budget)}{used_up}"


def _whole(dollars: float) -> str:
    return f"${dollars:,.0f}"


def month_home_text(month: MonthSpend) -> str:
    """The App Home's spend section: the viewer's month and everyone's, against the budgets."""
    lines = ["*Spend this month* (UTC calendar month, as budgets count)"]
    if month.my_budget is not None:
        lines.append(f"Your launches: {text_bar(month.mine, month.my_budget)}")
    else:
        lines.append(f"Your launches: {month.mine.cost_text().removeprefix('≈ ')} (no personal budget)")
    if month.total_budget is not None:
        lines.append(f"Everyone's: {text_bar(month.everyone, month.total_budget)}")
    else:
        lines.append(f"Everyone's: {month.everyone.cost_text().removeprefix('≈ ')} (no total budget)")
    if month.top is not None:
        lines.append("*Top spenders* (admins see this)")
        lines += [f"{i}. {mention(u)} · {m.cost_text()}" for i, (u, m) in enumerate(month.top, 1)]
        if not month.top:
            lines.append("Nobody has spent anything this month.")
    lines.append("`/endpoint spend month` draws the month as a chart.")
    return "\n".join(lines)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000), "verbatim": True}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 3000)}]}
