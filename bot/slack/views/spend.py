"""`/endpoint spend` and the App Home's month as text: totals, breakdowns, and bars against the budgets.
The figures come from bot.domain.cost.spend_views; the chart and CSV are drawn in bot/slack/views/spend_files.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot.domain.cost.meter import Meter, duration_text
from bot.domain.cost.spend_views import Group, MonthSpend, SpendView
from bot.domain.text import plural
from bot.slack.text import code, escape, mention, truncate
from bot.slack.views.blocks import context, section

MAX_LINES = 40


def _span(seconds: int) -> str:
    return duration_text(timedelta(seconds=seconds))


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
    return f"• {who} · {plural(g.endpoints, 'endpoint')} · {_span(g.serving_seconds)} · {g.cost_text}"


def spend_text(view: SpendView, by: str | None) -> str:
    """The answer: the total, then the breakdown asked for, or by endpoint and by person by default."""
    title = title_of(view, by)
    if not view.rows:
        return f"{title}\nNo endpoint launched through the bot served in that time: $0.00."
    endpoints = len({r.endpoint_id for r in view.rows})
    lines = [
        title,
        f"Total: *{view.total_text}* over {_span(view.serving_seconds)} serving, "
        f"{plural(endpoints, 'endpoint')}",
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


def spend_blocks(
    text: str, chart: str | None, view: SpendView, problem: str | None = None
) -> list[dict[str, Any]]:
    """The private answer: the text, then the chart uploaded as `chart` (a file id), or why it is missing."""
    blocks: list[dict[str, Any]] = [section(text)]
    if chart is None:
        blocks.append(
            context(
                f"I couldn't attach the chart: Slack said `{problem or 'no reason given'}`. The app needs the "
                "`files:write` and `im:write` scopes: whoever runs the bot can add them from `bot manifest` "
                "and reinstall the app. `bot spend --chart spend.png` draws it on the command line.",
                verbatim=False,
            )
        )
        return blocks
    blocks.append(
        {
            "type": "image",
            "slack_file": {"id": chart},
            "alt_text": f"Spend by {view.by}, {view.window.label}: {view.total_text}",
        }
    )
    blocks.append(context("The chart and its CSV are in your DM with the bot.", verbatim=False))
    return blocks


def file_stem(view: SpendView) -> str:
    w = view.window
    return f"spend-by-{view.by}-{w.since:%Y%m%d}-{w.until:%Y%m%d}"


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
