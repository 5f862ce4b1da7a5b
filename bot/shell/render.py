"""Slack surfaces as terminal text: messages (Block Kit or plain), modals as forms. Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.sandbox.emoji import replace_shortcodes
from bot.sandbox.slack_types import Message

_ANGLE = re.compile(r"<([^<>]+)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")


@dataclass(frozen=True)
class Style:
    """ANSI colours on a terminal; plain text otherwise."""

    color: bool = False

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def italic(self, text: str) -> str:
        return self._wrap("3", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def button(self, text: str) -> str:
        return self._wrap("1;36", text)

    def private(self, text: str) -> str:
        return self._wrap("33", text)

    def error(self, text: str) -> str:
        return self._wrap("1;31", text)

    def good(self, text: str) -> str:
        return self._wrap("32", text)


PLAIN = Style(False)


def mrkdwn(text: str | None, style: Style = PLAIN) -> str:
    """Slack mrkdwn as a person reads it: `<@U1>` → `@U1`, links as `label (url)`, `&lt;` → `<`."""
    if not text:
        return ""

    def angle(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!subteam^"):
            return label or "@group"
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        return f"{label} ({target})" if label and label != target else target

    out = _ANGLE.sub(angle, text)
    out = out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if style.color:
        out = replace_shortcodes(out)  # the bot's own icons as characters on a terminal
        out = _BOLD.sub(lambda m: style.bold(m.group(1)), out)
        out = _ITALIC.sub(lambda m: style.italic(m.group(1)), out)
    return out


def text_lines(text: str | None, style: Style = PLAIN) -> list[str]:
    """mrkdwn → display lines; a ``` code block becomes its own indented lines."""
    shown = mrkdwn(text, style)
    lines: list[str] = []
    for i, part in enumerate(shown.split("```")):
        if i % 2 == 1:  # inside a code block
            lines.extend("  " + line for line in part.strip("\n").splitlines())
        else:
            lines.extend(part.strip("\n").splitlines() if part.strip("\n") else [])
    return lines


def _plain(obj: Any) -> str:
    """The text of a text object (`{"type": "plain_text", "text": ...}`) or a string."""
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return "" if obj is None else str(obj)


def _field(text: str, style: Style) -> str:
    """A section field `*Title*\\nvalue` on one line: `Title: value`."""
    title, sep, rest = text.partition("\n")
    if sep and title.startswith("*") and title.endswith("*") and len(title) > 2:
        value = " · ".join(mrkdwn(line, style) for line in rest.splitlines() if line.strip())
        return f"{style.bold(title[1:-1]) if style.color else title[1:-1]}: {value}"
    return " · ".join(mrkdwn(line, style) for line in text.splitlines())


def element_label(element: dict[str, Any]) -> str:
    return _plain(element.get("text"))


def buttons(blocks: list[dict[str, Any]] | None) -> list[str]:
    """Labels of the buttons in these blocks, in order."""
    found = []
    for block in blocks or []:
        elements = block.get("elements", []) if block.get("type") == "actions" else []
        if block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            elements = [block["accessory"]]
        found += [element_label(e) for e in elements if e.get("type") == "button"]
    return found


def block_lines(block: dict[str, Any], style: Style = PLAIN) -> list[str]:
    kind = block.get("type")
    if kind == "section":
        lines = text_lines(_plain(block.get("text")), style) if block.get("text") else []
        lines += [_field(_plain(f), style) for f in block.get("fields") or []]
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") == "button":
            lines.append(style.button(f"[{element_label(accessory)}]"))
        return lines
    if kind == "header":
        return [style.bold(_plain(block.get("text")))]
    if kind == "context":
        parts = [mrkdwn(_plain(e), style) for e in block.get("elements") or [] if e.get("type") != "image"]
        return [style.dim(" ".join(p for p in parts if p))]
    if kind == "actions":
        labels = [element_label(e) for e in block.get("elements") or [] if e.get("type") == "button"]
        return [" ".join(style.button(f"[{label}]") for label in labels)] if labels else []
    if kind == "divider":
        return [style.dim("─" * 40)]
    if kind == "image":
        return [f"[image: {block.get('alt_text', '')}]"]
    return []


def message_lines(message: Message, style: Style = PLAIN) -> list[str]:
    """What the message shows: its blocks when it has them (Slack then shows no `text`), else its text."""
    if message.blocks:
        lines = [line for block in message.blocks for line in block_lines(block, style)]
        if lines:
            return lines
    return text_lines(message.text, style) or [""]


# --- forms ----------------------------------------------------------------------------------------


def option_text(option: dict[str, Any] | None) -> str:
    return _plain((option or {}).get("text"))


def short_option(option: dict[str, Any]) -> str:
    """The part of an option's text before ` · ` (the form puts the detail after it)."""
    return option_text(option).split(" · ")[0]


def field_value(element: dict[str, Any], state: dict[str, Any]) -> str:
    """The current value of one input element, from its `state.values` entry."""
    kind = element.get("type", "")
    if kind in ("static_select", "external_select", "radio_buttons"):
        chosen = state.get("selected_option")
        return option_text(chosen) if chosen else "(not chosen)"
    if kind in ("checkboxes", "multi_static_select"):
        picked = {o.get("value") for o in state.get("selected_options") or []}
        options = element.get("options") or []
        return "  ".join(("[x] " if o.get("value") in picked else "[ ] ") + option_text(o) for o in options)
    value = state.get("value")
    return "(empty)" if value in (None, "") else str(value)


def choices(element: dict[str, Any], limit: int = 320) -> str | None:
    """The options of a select, briefly, so that a person knows what `set` accepts."""
    if element.get("type") not in ("static_select", "radio_buttons"):
        return None
    names = [short_option(o) for o in element.get("options") or []]
    text = ", ".join(names)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def view_lines(
    view: dict[str, Any],
    values: dict[str, Any],
    errors: dict[str, str] | None,
    style: Style = PLAIN,
) -> list[str]:
    """A modal as a form: its title, each field with its label and current value, its buttons."""
    lines: list[str] = []
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            lines += ["  " + line for line in block_lines(block, style)]
            continue
        element = block.get("element") or {}
        label = _plain(block.get("label"))
        optional = " (optional)" if block.get("optional") and "optional" not in label.lower() else ""
        state: dict[str, Any] = next(iter((values.get(block.get("block_id", "")) or {}).values()), {})
        lines.append(
            f"  {style.bold(label) if style.color else label}{optional}: {field_value(element, state)}"
        )
        listed = choices(element)
        if listed and element.get("type") == "static_select":
            lines.append(style.dim(f"      choices: {listed}"))
        if element.get("type") == "external_select":
            word = label.split()[0].lower() if label.split() else "field"
            lines.append(style.dim(f"      searches as you type: set {word} <words>"))
        error = (errors or {}).get(block.get("block_id", ""))
        if error:
            lines.append(style.error(f"      ! {error}"))
    actions = [_plain(view.get("submit")), _plain(view.get("close"))]
    lines.append(
        "  "
        + " ".join(style.button(f"[{a}]") for a in actions if a)
        + style.dim("   (set <field> <value>, submit, cancel)")
    )
    return lines
