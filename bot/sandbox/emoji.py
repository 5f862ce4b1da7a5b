"""Slack's emoji shortcodes as characters, for the sandbox's pictures of Slack (the terminal and the HTML)."""

from __future__ import annotations

import re
from collections.abc import Mapping

#: The bot's own icons (a terminal shows them as characters; piped output keeps Slack's :shortcodes:).
EMOJI = {
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "white_check_mark": "✅",
    "no_entry": "⛔",
    "rocket": "🚀",
    "x": "❌",
    "warning": "⚠️",
    "large_green_circle": "🟢",
    "red_circle": "🔴",
    "arrows_counterclockwise": "🔄",
    "double_vertical_bar": "⏸️",
    "black_square_for_stop": "⏹️",
    "wastebasket": "🗑️",
    "grey_question": "❔",
    "test_tube": "🧪",
}

_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")


def replace_shortcodes(text: str, emoji: Mapping[str, str] = EMOJI) -> str:
    """``:rocket:`` → 🚀 for the shortcodes in ``emoji``; others stay as Slack wrote them."""
    return _SHORTCODE.sub(lambda m: emoji.get(m.group(1)) or m.group(0), text)
