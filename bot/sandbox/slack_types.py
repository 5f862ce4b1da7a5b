"""What the pretend Slack deals in: messages, recorded calls, ids and names, response_url tags.

Plain data and pure helpers, shared by the fake Web API (:mod:`bot.sandbox.fake_slack`), the signed
requests (:mod:`bot.sandbox.slack_requests`), the driver and the shell.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_NAME",
    "Call",
    "Message",
    "ResponseContext",
    "SlackRefused",
    "TsClock",
    "channel_name_for",
    "ensure_block_ids",
    "make_response_tag",
    "parse_response_tag",
    "real_name_for",
    "stable_id",
    "truthy",
    "user_name_for",
]

BOT_ID = "BBOTSIM"
APP_ID = "A0SIM"
BOT_NAME = "endpoint-bot"


class SlackRefused(AssertionError):
    """Slack would not accept what the app answered to an interaction (e.g. an invalid view in a
    ``response_action`` ack): the person sees an error in the form instead."""


# --------------------------------------------------------------------------------------------------
# Names and ids
# --------------------------------------------------------------------------------------------------


def user_name_for(user_id: str) -> str:
    """The ``name`` (handle) the fake gives a user id: its lower-cased id."""
    return user_id.lower()


def real_name_for(user_id: str) -> str:
    """The ``real_name`` the fake gives a user id."""
    return f"Sim User {user_id}"


def channel_name_for(channel_id: str) -> str:
    """The name Slack would report for a channel id (DMs and group DMs have generic names)."""
    if channel_id.startswith("D"):
        return "directmessage"
    if channel_id.startswith("G"):
        return "privategroup"
    return channel_id.lower()


def stable_id(*parts: object) -> str:
    """A short deterministic id (5 characters) in the style of Slack's generated block/action ids."""
    digest = hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).digest()
    return base64.b32encode(digest).decode()[:5]


def ensure_block_ids(blocks: Any) -> Any:
    """Return a copy of ``blocks`` where every block has a ``block_id`` and every interactive
    element an ``action_id``, as Slack fills them in when the sender leaves them out.

    The generated ids depend only on the block's content and position, so computing them twice
    gives the same ids (``slack_requests.state_values`` relies on that).  Non-lists pass through.
    """
    if not isinstance(blocks, list):
        return blocks
    out: list[Any] = []
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            out.append(block)
            continue
        block = copy.deepcopy(block)
        if not block.get("block_id"):
            block["block_id"] = stable_id("block", index, block)
        elements: list[dict[str, Any]] = []
        if block.get("type") == "actions":
            elements = [e for e in block.get("elements") or [] if isinstance(e, dict)]
        elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            if block["accessory"].get("type") != "image":
                elements = [block["accessory"]]
        elif block.get("type") == "input" and isinstance(block.get("element"), dict):
            elements = [block["element"]]
        for el_index, element in enumerate(elements):
            if not element.get("action_id"):
                element["action_id"] = stable_id("action", block["block_id"], el_index, element)
        out.append(block)
    return out


@dataclass(frozen=True)
class ResponseContext:
    """Where a response_url belongs: the channel and user of the interaction, and the message
    the interaction came from (for ``replace_original``/``delete_original``)."""

    channel: str | None = None
    user: str | None = None
    message_ts: str | None = None


_TAG_SEP = "~"


def make_response_tag(
    channel: str | None, user: str | None, message_ts: str | None = None, seq: object = ""
) -> str:
    """Build a response_url tag that carries its context: ``<channel>~<user>~<message_ts>~<seq>``
    (``-`` for an unknown part).  :meth:`FakeSlack.response_url` reads it back."""
    return _TAG_SEP.join([channel or "-", user or "-", message_ts or "-", str(seq) or "0"])


def parse_response_tag(tag: str) -> ResponseContext | None:
    """Read a tag built by :func:`make_response_tag`; ``None`` for any other tag."""
    parts = tag.split(_TAG_SEP)
    if len(parts) != 4:
        return None
    channel, user, message_ts, _ = (None if p in ("", "-") else p for p in parts)
    return ResponseContext(channel=channel, user=user, message_ts=message_ts)


def truthy(value: Any) -> bool:
    """A flag as Slack reads it from a form field or JSON (``"true"``, ``"1"``, ``True``...)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


# --------------------------------------------------------------------------------------------------
# Data types
# --------------------------------------------------------------------------------------------------


class TsClock:
    """Hands out Slack message timestamps (``"1764100000.000100"``) from a clock, strictly increasing
    even when called faster than the clock ticks (each value is at least 1 microsecond later)."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._last_us = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            us = max(int(self._now() * 1_000_000), self._last_us + 1)
            self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    __call__ = next


@dataclass
class Call:
    """One request the fake received.

    ``method`` is the Web API method (``"chat.postMessage"``) or ``"response_url"`` for a POST to a
    response_url, in which case ``tag`` is the URL's tag and ``params`` is the JSON payload.
    ``response`` is what was answered (a dict for API methods, the text body for response_urls).
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int
    response: Any
    tag: str | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """Why Slack refused the call (from ``response_metadata.messages``, or a response_url's checks)."""

    @property
    def ok(self) -> bool:
        if self.status != 200:
            return False
        if isinstance(self.response, dict):
            return bool(self.response.get("ok"))
        return True

    @property
    def error(self) -> str | None:
        if isinstance(self.response, dict):
            return self.response.get("error")
        return None if self.status == 200 else str(self.response)


@dataclass
class Message:
    """A message as a person in the workspace sees it.

    ``thread_ts`` is the parent's ts for a thread reply (``None`` for a top-level message),
    ``ephemeral_for`` the user who alone sees an ephemeral message, ``edits`` how many times the
    message was changed (``chat.update`` or ``replace_original``).
    """

    channel: str
    ts: str
    thread_ts: str | None
    text: str | None
    blocks: list[dict[str, Any]] | None
    user: str | None
    ephemeral_for: str | None = None
    edits: int = 0
    attachments: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    bot_id: str | None = None
    team: str | None = None
    # A thread reply posted with reply_broadcast: Slack shows it in the channel too (subtype thread_broadcast)
    broadcast: bool = False

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_dict(self) -> dict[str, Any]:
        """The message in the shape Slack uses in API responses and interaction payloads."""
        out: dict[str, Any] = {"type": "message", "text": self.text or "", "ts": self.ts}
        if self.user:
            out["user"] = self.user
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = APP_ID
        if self.team:
            out["team"] = self.team
        if self.blocks is not None:
            out["blocks"] = copy.deepcopy(self.blocks)
        if self.attachments is not None:
            out["attachments"] = copy.deepcopy(self.attachments)
        if self.metadata is not None:
            out["metadata"] = copy.deepcopy(self.metadata)
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.broadcast:
            out["subtype"] = "thread_broadcast"
        if self.edits:
            out["edited"] = {"user": self.user, "ts": self.ts}
        return out
