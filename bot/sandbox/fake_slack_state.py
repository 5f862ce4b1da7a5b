"""The pretend Slack's workspace: what it holds, and the message rules every method family shares.

:class:`SlackState` is the base of :class:`~bot.sandbox.fake_slack.FakeSlack` and of its method families
(``fake_slack_chat``, ``fake_slack_directory``, ``fake_slack_views``, ``fake_slack_interactivity``): the
messages, views, trigger_ids and response_urls of one workspace, the recorded calls, and one lock over all.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.sandbox import block_kit_rules
from bot.sandbox.fake_slack_failures import FailureRules
from bot.sandbox.fake_slack_files import FakeFile, FakeFiles
from bot.sandbox.slack_types import BOT_ID, Call, Message, ResponseContext, TsClock, ensure_block_ids


@dataclass
class ViewRecord:
    """An open view and the user it belongs to; ``errors`` as shown after ``response_action=errors``."""

    view: dict[str, Any]
    user: str | None
    errors: dict[str, str] | None = None


class SlackState:
    """One workspace's state.  Every method that reads or changes it runs under ``self._lock``."""

    def __init__(
        self,
        *,
        bot_token: str | None,
        team_id: str,
        team: str,
        bot_user_id: str,
        team_domain: str,
        ts_clock: TsClock | None,
        clock: Callable[[], float],
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.team = team
        self.bot_user_id = bot_user_id
        self.team_domain = team_domain
        self.ts_clock = ts_clock or TsClock()
        #: When trigger_ids expire is judged by this clock (seconds).
        self.clock = clock
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._failures = FailureRules()
        self._listeners: list[Callable[[Call], None]] = []
        self._token_refusal: str | None = None  # set: every call with a bot token answers this error
        self._reset_state()

    @property
    def root_url(self) -> str:
        """Where the fake is served (the server knows it: see FakeSlack)."""
        raise NotImplementedError

    def _reset_state(self) -> None:
        self._messages: dict[str, list[Message]] = {}
        self._ephemerals: list[Message] = []
        self._views: dict[str, ViewRecord] = {}
        self._stacks: dict[str | None, list[str]] = {}
        self._home_views: dict[str, dict[str, Any]] = {}
        self._used_triggers: set[str] = set()
        self._trigger_users: dict[str, str] = {}
        self._trigger_times: dict[str, float] = {}
        self._response_contexts: dict[str, ResponseContext] = {}
        self._response_url_uses: dict[str, int] = {}
        # Private channels (and DMs between people) the app was not invited to: Slack answers
        # channel_not_found to any post there, chat:write.public or not (it opens public channels only).
        self._closed_channels: set[str] = set()
        self._view_seq = itertools.count(1)
        self._trigger_seq = itertools.count(1)
        self.files = FakeFiles(self)  # uploads, files.info, DMs: see fake_slack_files

    # -------------------------------------------------------------- recorded calls

    def _record(self, call: Call) -> None:
        self._notify(self._append(call), call)

    def _append(self, call: Call) -> list[Callable[[Call], None]]:
        """Record the call; returns the listeners to tell once the lock is released."""
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
            return list(self._listeners)

    @staticmethod
    def _notify(listeners: list[Callable[[Call], None]], call: Call) -> None:
        for listener in listeners:
            listener(call)

    # -------------------------------------------------------------- messages, as every family shows them

    def _find_message(self, channel: str | None, ts: str | None) -> Message | None:
        for m in self._messages.get(channel or "", []):
            if m.ts == ts:
                return m
        return None

    def _find_ephemeral(self, channel: str | None, ts: str | None) -> Message | None:
        for m in self._ephemerals:
            if m.ts == ts and (channel is None or m.channel == channel):
                return m
        return None

    @staticmethod
    def _has_content(params: Mapping[str, Any]) -> bool:
        return bool(params.get("text") or params.get("blocks") or params.get("attachments"))

    def _refuse_message(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """Slack's refusal of a message it would not post, or ``None``."""
        problems = block_kit_rules.message_problems(params)
        blocks = params.get("blocks")
        if (
            isinstance(blocks, list)
            and all(isinstance(b, dict) for b in blocks)
            and not self.files.knows_images_in(blocks)
        ):
            problems.append("an image's slack_file is not a file uploaded to Slack [json-pointer:/blocks]")
        if not problems:
            return None
        text = params.get("text")
        if isinstance(text, str) and len(text) > block_kit_rules.LIMITS["message_text"]:
            return block_kit_rules.refusal("msg_too_long", problems)
        return block_kit_rules.refusal("invalid_blocks", problems)

    def _thread_root(self, channel: str, thread_ts: Any) -> tuple[bool, str | None]:
        """``(found, ts to thread under)``: ``(True, None)`` for no thread, ``(False, None)`` when the
        thread names no message in the channel.  A reply to a reply joins the parent's thread."""
        if thread_ts in (None, ""):
            return True, None
        target = self._find_message(channel, str(thread_ts))
        if target is None:
            return False, None
        return True, target.thread_ts or target.ts

    def _new_message(self, channel: str, params: Mapping[str, Any], thread_ts: str | None) -> Message:
        return Message(
            channel=channel,
            ts=self.ts_clock.next(),
            thread_ts=thread_ts,
            text=params.get("text"),
            blocks=ensure_block_ids(params.get("blocks")),
            user=self.bot_user_id,
            attachments=params.get("attachments"),
            metadata=params.get("metadata"),
            bot_id=BOT_ID,
            team=self.team_id,
            # Slack ignores reply_broadcast on a message that is not a thread reply
            broadcast=thread_ts is not None and str(params.get("reply_broadcast")).lower() in ("true", "1"),
        )

    def _share_files(self, channel: str, comment: str, thread_ts: str | None, files: list[FakeFile]) -> None:
        """A completed upload shared in `channel`: one message with the comment, naming the files."""
        _, root = self._thread_root(channel, thread_ts)
        msg = self._new_message(channel, {"text": comment}, root)
        msg.metadata = {"files": [f.id for f in files]}
        self._messages.setdefault(channel, []).append(msg)

    @staticmethod
    def _edit(msg: Message, params: Mapping[str, Any]) -> None:
        if "text" in params:
            msg.text = params.get("text")
        if "blocks" in params:
            msg.blocks = ensure_block_ids(params.get("blocks"))
        if "attachments" in params:
            msg.attachments = params.get("attachments")
        if "metadata" in params:
            msg.metadata = params.get("metadata")
        msg.edits += 1
