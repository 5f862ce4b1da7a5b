"""The App Home tab: your endpoints, your month's spend, your requests waiting, and what waits for you."""

from __future__ import annotations

from typing import Any

from bot.domain.catalog import describe_hardware
from bot.domain.cost.estimate import CostEstimate, replica_count
from bot.domain.model import LaunchRequest
from bot.domain.running import Home
from bot.slack.metadata import RequestRef
from bot.slack.text import SECTION_TEXT, code, escape, fit_lines, mention
from bot.slack.views.blocks import context, decision_buttons, section
from bot.slack.views.changes import change_summary
from bot.slack.views.endpoints import MORE_ENDPOINTS, Links, endpoint_summary, hourly
from bot.slack.views.spend import month_home_text

HOME_MINE = 20  # sections of your endpoints in the App Home (Slack allows 100 blocks in a view)
HOME_WAITING = 15  # requests waiting for you, two blocks each
HOME_ASKED = 10


def home_view(home: Home, links: Links) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Your Together endpoints"}},
    ]
    if home.mine:
        for m in home.mine[:HOME_MINE]:
            blocks.append(section(endpoint_summary(m, links, home.spent.get(m.id))))
        if len(home.mine) > HOME_MINE:
            rest = f"`/endpoint list mine` lists them all; {MORE_ENDPOINTS}."
            blocks.append(context(f"…and {len(home.mine) - HOME_MINE} more. {rest}"))
    else:
        blocks.append(
            section("You have no endpoints. `/endpoint create <model> <hardware> <replicas>` asks for one.")
        )
    if home.month is not None:
        blocks.append(section(month_home_text(home.month)))
    if home.asked:
        lines = ["*Your requests waiting for approval*"]
        lines += [f"• {_request_line(r)}" for r in home.asked[:HOME_ASKED]]
        more = "…and {n} more: each has its card in the channel where you asked."
        blocks.append(
            section(fit_lines(lines, SECTION_TEXT, more, hidden=max(0, len(home.asked) - HOME_ASKED)))
        )
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Waiting for your approval"}})
    if not home.waiting:
        blocks.append(section("Nothing is waiting for you."))
    for r in home.waiting[:HOME_WAITING]:
        ref = RequestRef(request_id=r.id, channel_id=r.channel_id, message_ts=r.message_ts, home=True).dump()
        blocks.append(section(f"{_request_line(r)}\nasked by {mention(r.requested_by)} in <#{r.channel_id}>"))
        blocks.append(decision_buttons(f"home-decide-{r.id}", ref, withdraw=False))
    if len(home.waiting) > HOME_WAITING:
        blocks.append(
            context(
                f"…and {len(home.waiting) - HOME_WAITING} more waiting for you: decide these first, or use "
                "the Approve and Reject buttons on their cards in the channel."
            )
        )
    blocks.append(
        context("`/endpoint help` lists the commands. This tab is refreshed each time you open it.")
    )
    return {"type": "home", "blocks": blocks[:100]}


def _request_line(r: LaunchRequest) -> str:
    d = r.draft
    cost = CostEstimate(r.cents_per_minute, d.min_replicas, d.max_replicas)
    progress = f", {len(r.approvals)} of {r.approvals_needed} approvals" if r.approvals_needed > 1 else ""
    if r.change_of is not None:
        return f"*Change request #{r.id}* (of request #{r.change_of}): {escape(change_summary(r))}{progress}"
    return (
        f"*Request #{r.id}*: {code(d.model)} on {escape(describe_hardware(d.hardware))}, "
        f"{replica_count(d.min_replicas, d.max_replicas)}, {hourly(cost)}{progress}"
    )
