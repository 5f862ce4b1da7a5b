"""Block Kit and mrkdwn as HTML that looks like Slack, for the README's picture. Pure functions.

Covers what the bot sends: sections (text, fields, a button accessory), context, actions (buttons),
dividers and headers; mrkdwn bold, italic, strike, `code`, ```code blocks```, links, user and channel
mentions and the bot's emoji. The text arrives escaped as Slack wants it (`&lt;`, `&gt;`, `&amp;`), which
is already valid HTML; only the `<…>` of links and mentions are real angle brackets.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from bot.sandbox.emoji import EMOJI, replace_shortcodes

_TOKEN = re.compile(r"<([^<>]+)>")
_CODE_BLOCK = re.compile(r"```(.*?)```", re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~([^~\n]+)~(?![\w~])")
EXTRA_EMOJI = {"alarm_clock": "⏰", "large_yellow_circle": "🟡", "hourglass": "⌛"}


def mrkdwn(text: str, names: Mapping[str, str]) -> str:
    """Slack mrkdwn → HTML. `names` gives the display name of a user or channel id."""
    stash: list[str] = []

    def keep(fragment: str) -> str:  # formatting must not reach inside code or links
        stash.append(fragment)
        return f"\x00{len(stash) - 1}\x00"

    text = _CODE_BLOCK.sub(lambda m: keep(f"<pre>{m.group(1).strip(chr(10))}</pre>"), text)
    text = _CODE.sub(lambda m: keep(f"<code>{m.group(1)}</code>"), text)
    text = _TOKEN.sub(lambda m: keep(_token(m.group(1), names)), text)
    text = _BOLD.sub(r"<b>\1</b>", text)
    text = _ITALIC.sub(r"<i>\1</i>", text)
    text = _STRIKE.sub(r"<s>\1</s>", text)
    text = replace_shortcodes(text, {**EXTRA_EMOJI, **EMOJI})
    text = text.replace("\n", "<br>")
    return re.sub(r"\x00(\d+)\x00", lambda m: stash[int(m.group(1))], text)


def _token(inner: str, names: Mapping[str, str]) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return f'<span class="mention">@{html.escape(names.get(target[1:], label or target[1:]))}</span>'
    if target.startswith("#"):
        return f'<span class="mention">#{html.escape(names.get(target[1:], label or target[1:]))}</span>'
    if target.startswith("!"):
        return f'<span class="mention">@{html.escape(label or target[1:].split("^")[0])}</span>'
    return f'<a href="{html.escape(target)}">{label or target}</a>'


def _plain(obj: Any) -> str:
    return html.escape(str(obj.get("text", ""))) if isinstance(obj, dict) else ""


def _text(obj: Any, names: Mapping[str, str]) -> str:
    if not isinstance(obj, dict):
        return ""
    if obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")), names)
    return _plain(obj)


def button(element: dict[str, Any]) -> str:
    style = element.get("style")
    cls = f"button {style}" if style in ("primary", "danger") else "button"
    return f'<span class="{cls}">{_plain(element.get("text"))}</span>'


def block(b: dict[str, Any], names: Mapping[str, str]) -> str:
    kind = b.get("type")
    if kind == "section":
        parts = []
        if b.get("text"):
            parts.append(f'<div class="text">{_text(b["text"], names)}</div>')
        if b.get("fields"):
            cells = "".join(f'<div class="field">{_text(f, names)}</div>' for f in b["fields"])
            parts.append(f'<div class="fields">{cells}</div>')
        accessory = b.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") == "button":
            parts.append(f'<div class="accessory">{button(accessory)}</div>')
        return f'<div class="section">{"".join(parts)}</div>'
    if kind == "context":
        items = " ".join(_text(e, names) for e in b.get("elements") or [] if e.get("type") != "image")
        return f'<div class="context">{items}</div>'
    if kind == "actions":
        items = "".join(button(e) for e in b.get("elements") or [] if e.get("type") == "button")
        return f'<div class="actions">{items}</div>'
    if kind == "divider":
        return '<hr class="divider">'
    if kind == "header":
        return f'<div class="header">{_plain(b.get("text"))}</div>'
    return ""


def message(
    *, author: str, time: str, text: str | None, blocks: list[dict[str, Any]] | None, names: Mapping[str, str]
) -> str:
    """One message as Slack lays it out: avatar, name with the APP badge, time, then its blocks (or text)."""
    body = (
        "".join(block(b, names) for b in blocks)
        if blocks
        else f'<div class="text">{mrkdwn(text or "", names)}</div>'
    )
    return (
        '<div class="message"><div class="avatar">🚀</div><div class="content">'
        f'<div class="meta"><b>{html.escape(author)}</b><span class="app">APP</span>'
        f'<span class="time">{html.escape(time)}</span></div>{body}</div></div>'
    )


STYLE = """
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.46668 -apple-system, "Segoe UI", "Noto Sans", "DejaVu Sans", Helvetica, Arial,
  sans-serif; color: #1d1c1d; background: #fff; }
.window { display: flex; height: 100vh; }
.sidebar { width: 190px; background: #3f0e40; color: #cfc3cf; padding: 14px 0; flex: none; }
.sidebar .workspace { color: #fff; font-weight: 900; font-size: 17px; padding: 0 16px 14px; }
.sidebar .channel { padding: 3px 16px; }
.sidebar .channel.active { background: #1164a3; color: #fff; }
.pane { flex: 1; display: flex; flex-direction: column; min-width: 0; border-right: 1px solid #ddd; }
.pane.thread { flex: 0 0 560px; border-right: none; }
.pane-head { padding: 12px 20px; border-bottom: 1px solid #ddd; font-weight: 900; font-size: 17px; }
.pane-head .sub { font-weight: 400; color: #616061; font-size: 13px; margin-left: 8px; }
.messages { padding: 8px 0; overflow: hidden; }
.message { display: flex; padding: 8px 20px; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #4a154b; color: #fff; flex: none;
  display: flex; align-items: center; justify-content: center; font-size: 20px; margin-right: 8px; }
.content { min-width: 0; flex: 1; }
.meta { margin-bottom: 2px; }
.app { background: #e8e8e8; color: #616061; font-size: 10px; font-weight: 700; padding: 1px 3px;
  border-radius: 2px; margin: 0 6px; vertical-align: 2px; }
.time { color: #616061; font-size: 12px; }
.section { display: flex; margin: 4px 0; }
.section .text, .section .fields { flex: 1; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; margin-top: 4px; }
.accessory { margin-left: 12px; }
.context { color: #616061; font-size: 12px; margin: 6px 0; }
.actions { margin: 8px 0; }
.button { display: inline-block; border: 1px solid #bbb; border-radius: 4px; padding: 3px 12px;
  font-weight: 700; font-size: 13px; margin-right: 8px; background: #fff; }
.button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.button.danger { color: #e01e5a; border-color: #e01e5a; }
.divider { border: none; border-top: 1px solid #ddd; }
code { font: 12px Menlo, Monaco, "DejaVu Sans Mono", monospace; color: #e01e5a; background: #f6f6f6;
  border: 1px solid #e8e8e8; border-radius: 3px; padding: 1px 3px; }
pre { font: 12px/1.5 Menlo, Monaco, "DejaVu Sans Mono", monospace; background: #f8f8f8; border: 1px solid #e2e2e2;
  border-radius: 4px; padding: 8px; margin: 4px 0; white-space: pre-wrap; word-break: break-all; }
.mention { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
a { color: #1264a3; text-decoration: none; }
.replies { color: #1264a3; font-size: 13px; font-weight: 700; margin: 4px 0 0 64px; }
.parent { border-bottom: 1px solid #ddd; padding-bottom: 6px; }
"""


def page(
    *, workspace: str, channel: str, card: str, replies: list[str], reply_count: int, thread_title: str
) -> str:
    """A Slack window: the channel with the card on the left, its thread open on the right."""
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>endpoint-bot in Slack</title>'
        f'<style>{STYLE}</style></head>\n<body><div class="window">'
        f'<div class="sidebar"><div class="workspace">{html.escape(workspace)}</div>'
        f'<div class="channel"># general</div><div class="channel active"># {html.escape(channel)}</div>'
        '<div class="channel"># random</div></div>\n'
        f'<div class="pane"><div class="pane-head"># {html.escape(channel)}</div><div class="messages">\n'
        f'{card}\n<div class="replies">{reply_count} replies</div></div></div>\n'
        f'<div class="pane thread"><div class="pane-head">Thread<span class="sub"># {html.escape(channel)} · '
        f'{html.escape(thread_title)}</span></div><div class="messages">\n'
        + "\n".join(replies)
        + "\n</div></div></div></body></html>\n"
    )
