"""How Slack takes an app's answer to an options request (an external select's type-ahead).

Slack waits three seconds for the answer, and shows only an answer within its limits; otherwise the menu
shows the person nothing to choose ("No results" or a load error) and the app is not told why. The fake
driver applies the same rules, so a test (and `bot shell`) sees what the person would.

Sources: https://api.slack.com/reference/block-kit/block-elements#external_select (options load URL,
three seconds), https://api.slack.com/reference/block-kit/composition-objects#option (text 75, value 150),
https://api.slack.com/reference/block-kit/composition-objects#option_group (label 75, 100 options).
"""

from __future__ import annotations

import json
from typing import Any

from bot.slack.clock import SLACK_CLOCK

OPTIONS_SECONDS = SLACK_CLOCK  # Slack gives up on an options request after this
MAX_OPTIONS = 100  # options in an answer, and in each option group
MAX_OPTION_GROUPS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_GROUP_LABEL = 75


def options_refusal(answer_text: str) -> str | None:
    """Why Slack would show nothing from this answer, or None when it takes it."""
    try:
        body = json.loads(answer_text) if answer_text.strip() else {}
    except ValueError:
        return "the answer is not JSON"
    if not isinstance(body, dict):
        return "the answer is not a JSON object"
    if "options" in body and "option_groups" in body:
        return "the answer has both options and option_groups"
    if "option_groups" in body:
        groups = body["option_groups"]
        if not isinstance(groups, list) or len(groups) > MAX_OPTION_GROUPS:
            return f"option_groups must be a list of at most {MAX_OPTION_GROUPS}"
        for group in groups:
            label = _text(group.get("label") if isinstance(group, dict) else None)
            if label is None or not 0 < len(label) <= MAX_GROUP_LABEL:
                return f"an option group's label must be plain text of 1 to {MAX_GROUP_LABEL} characters"
            problem = _options_problem(group.get("options"))
            if problem:
                return problem
        return None
    return _options_problem(body.get("options"))


def answered_options(answer_text: str) -> list[dict[str, Any]]:
    """The options of an answer Slack takes (groups flattened), in order."""
    body = json.loads(answer_text)
    if "option_groups" in body:
        return [o for group in body["option_groups"] for o in group["options"]]
    return list(body["options"])


def _options_problem(options: Any) -> str | None:
    if not isinstance(options, list):
        return "options must be a list"
    if len(options) > MAX_OPTIONS:
        return f"{len(options)} options: Slack shows at most {MAX_OPTIONS}"
    for option in options:
        if not isinstance(option, dict):
            return "an option must be an object"
        text = _text(option.get("text"))
        if text is None or not 0 < len(text) <= MAX_OPTION_TEXT:
            return f"an option's text must be plain text of 1 to {MAX_OPTION_TEXT} characters: {option!r}"
        value = option.get("value")
        if not isinstance(value, str) or not 0 < len(value) <= MAX_OPTION_VALUE:
            return f"an option's value must be 1 to {MAX_OPTION_VALUE} characters: {option!r}"
    return None


def _text(obj: Any) -> str | None:
    if isinstance(obj, dict) and obj.get("type") == "plain_text" and isinstance(obj.get("text"), str):
        return str(obj["text"])
    return None
