"""The pretend Slack's ``chat.*`` methods, and what a person sees of messages: channels, threads, ephemerals.

Slack's refusals included: no content (``no_text``), Block Kit it would not render (``invalid_blocks``,
``msg_too_long``), a thread or message that is not there.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from bot.sandbox.fake_slack_state import SlackState
from bot.sandbox.slack_types import Message

#: Slack's published ``chat.*`` methods: another name in the family is ``unknown_method``.
METHODS = frozenset(
    {
        "chat.postMessage", "chat.update", "chat.postEphemeral", "chat.delete", "chat.getPermalink",
        "chat.meMessage", "chat.scheduleMessage", "chat.deleteScheduledMessage",
        "chat.scheduledMessages.list", "chat.unfurl", "chat.startStream", "chat.appendStream",
        "chat.stopStream",
    }
)  # fmt: skip


class ChatMethods(SlackState):
    """``chat.*`` and the messages they leave."""

    # -------------------------------------------------------------- what a person sees

    def channels(self) -> list[str]:
        """Channels that hold messages (top-level, replies or ephemerals), in order of first use."""
        with self._lock:
            seen = [c for c, msgs in self._messages.items() if msgs]
            seen += [m.channel for m in self._ephemerals if m.channel and m.channel not in seen]
            return list(dict.fromkeys(seen))

    def messages(self, channel: str) -> list[Message]:
        """Top-level messages of a channel, oldest first."""
        with self._lock:
            return [copy.deepcopy(m) for m in self._messages.get(channel, []) if not m.is_reply]

    def broadcasts(self, channel: str) -> list[Message]:
        """Thread replies also shown in the channel (posted with reply_broadcast), oldest first."""
        with self._lock:
            return [copy.deepcopy(m) for m in self._messages.get(channel, []) if m.is_reply and m.broadcast]

    def replies(self, channel: str, ts: str) -> list[Message]:
        """Replies in the thread under ``ts``, oldest first (the parent is not included)."""
        with self._lock:
            return [
                copy.deepcopy(m) for m in self._messages.get(channel, []) if m.is_reply and m.thread_ts == ts
            ]

    def ephemerals(self, user: str | None = None, channel: str | None = None) -> list[Message]:
        with self._lock:
            return [
                copy.deepcopy(m)
                for m in self._ephemerals
                if (user is None or m.ephemeral_for == user) and (channel is None or m.channel == channel)
            ]

    def message(self, channel: str, ts: str) -> Message | None:
        """The message (top-level, reply or ephemeral) with that ts, or ``None``."""
        with self._lock:
            found = self._find_message(channel, ts) or self._find_ephemeral(channel, ts)
            return copy.deepcopy(found) if found else None

    # -------------------------------------------------------------- Web API methods

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel or channel in self._closed_channels:
            return {"ok": False, "error": "channel_not_found"}
        if not self._has_content(params):
            return {"ok": False, "error": "no_text"}
        refused = self._refuse_message(params)
        if refused:
            return refused
        found, root = self._thread_root(channel, params.get("thread_ts"))
        if not found:
            return {"ok": False, "error": "thread_not_found"}
        msg = self._new_message(channel, params, root)
        self._messages.setdefault(channel, []).append(msg)
        return {"ok": True, "channel": channel, "ts": msg.ts, "message": msg.to_dict()}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        if not channel or channel in self._closed_channels:
            return {"ok": False, "error": "channel_not_found"}
        msg = self._find_message(channel, ts)
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        if not self._has_content(params):
            return {"ok": False, "error": "no_text"}
        refused = self._refuse_message(params)
        if refused:
            return refused
        self._edit(msg, params)
        return {
            "ok": True,
            "channel": channel,
            "ts": msg.ts,
            "text": msg.text or "",
            "message": msg.to_dict(),
        }

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, user = params.get("channel"), params.get("user")
        if not channel or channel in self._closed_channels:
            return {"ok": False, "error": "channel_not_found"}
        if not user:
            return {"ok": False, "error": "user_not_in_channel"}
        if not self._has_content(params):
            return {"ok": False, "error": "no_text"}
        refused = self._refuse_message(params)
        if refused:
            return refused
        thread_ts = params.get("thread_ts") or None
        msg = self._new_message(channel, params, thread_ts)
        msg.ephemeral_for = user
        self._ephemerals.append(msg)
        return {"ok": True, "message_ts": msg.ts}

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        msg = self._find_message(channel, ts)
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        self._messages[msg.channel].remove(msg)
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("message_ts")
        msg = self._find_message(channel, ts)
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        link = f"https://{self.team_domain}.slack.com/archives/{channel}/p{msg.ts.replace('.', '')}"
        if msg.is_reply:
            link += f"?thread_ts={msg.thread_ts}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}


HANDLERS: dict[str, Callable[[ChatMethods, dict[str, Any]], dict[str, Any]]] = {
    "chat.postMessage": ChatMethods._chat_post_message,
    "chat.update": ChatMethods._chat_update,
    "chat.postEphemeral": ChatMethods._chat_post_ephemeral,
    "chat.delete": ChatMethods._chat_delete,
    "chat.getPermalink": ChatMethods._chat_get_permalink,
}
