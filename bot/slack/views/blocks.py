"""Block Kit pieces every surface uses: a section, a context line, the state icons, the decision buttons."""

from __future__ import annotations

from typing import Any

from bot.slack.ids import Action
from bot.slack.text import SECTION_TEXT, truncate

STATE_ICONS = {
    "PENDING": ":hourglass_flowing_sand:",
    "STARTING": ":arrows_counterclockwise:",
    "STARTED": ":large_green_circle:",
    "STOPPING": ":double_vertical_bar:",
    "STOPPED": ":black_square_for_stop:",
    "ERROR": ":red_circle:",
    "FAILED": ":red_circle:",
    "DELETED": ":wastebasket:",
    # Together's v2 deployment states
    "PROVISIONING": ":hourglass_flowing_sand:",
    "READY": ":large_green_circle:",
    "SCALING": ":arrows_counterclockwise:",
    "DEGRADED": ":large_yellow_circle:",
}


def state_icon(state: str) -> str:
    return STATE_ICONS.get(state, ":grey_question:")


def section(text: str) -> dict[str, Any]:
    """A mrkdwn section shown as written (`verbatim`: no auto-linking), cut to what Slack accepts."""
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT), "verbatim": True},
    }


def context(text: str, *, verbatim: bool = True) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT)}
    if verbatim:
        element["verbatim"] = True
    return {"type": "context", "elements": [element]}


def button(action_id: str, text: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {"type": "button", "action_id": action_id}
    if style is not None:
        shown["style"] = style
    shown["value"] = value
    shown["text"] = {"type": "plain_text", "text": text}
    return shown


def decision_buttons(block_id: str, ref: str, *, withdraw: bool = True) -> dict[str, Any]:
    """Approve and Reject for a pending request (on its card and in the approver's App Home), and Withdraw
    for the person who asked (on the card: everyone sees it; the bot answers anyone else privately)."""
    return {
        "type": "actions",
        "block_id": block_id,
        "elements": [
            button(Action.APPROVE, "Approve", ref, style="primary"),
            button(Action.REJECT, "Reject", ref, style="danger"),
            *([button(Action.WITHDRAW, "Withdraw", ref)] if withdraw else []),
        ],
    }
