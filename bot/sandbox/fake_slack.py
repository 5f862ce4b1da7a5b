"""A local, stateful fake of Slack's Web API, for tests and for the terminal "shell" mode.

``FakeSlack`` runs a stdlib HTTP server on ``127.0.0.1`` (an ephemeral port) in a daemon thread.
Point ``slack_sdk.WebClient(base_url=fake.base_url)`` at it and it answers the way Slack does,
while remembering what a person in the workspace would see: channel messages, thread replies,
ephemeral messages and open modals.  Every request is recorded as a :class:`Call`.

Two kinds of URL are served:

``/api/<method>``
    Slack Web API methods (form-encoded, JSON or multipart bodies, plus query parameters).
    The token is read from ``Authorization: Bearer ...`` or from a ``token`` parameter.

``/respond/<tag>``
    A ``response_url`` as Slack puts into slash-command and interaction payloads.  Get one from
    :meth:`FakeSlack.response_url`.  The fake needs to know which channel/user/message a tag belongs
    to in order to show the response where Slack would; pass that to :meth:`FakeSlack.response_url`
    or use a tag built with :func:`make_response_tag` (``SlackRequests`` does this).

``/link/?ticket=...``
    Socket Mode: the WebSocket URL ``apps.connections.open`` hands out (an app-level token is needed for
    that method); see :mod:`bot.sandbox.fake_socket_mode` and ``fake.socket_mode``.

Unknown methods
    A method name must look like ``family.method`` and its family must be a real Slack API family
    (``chat``, ``views``, ``reactions``, ...), else the answer is ``{"ok": false, "error":
    "unknown_method"}``.  For the families the fake models closely (``auth``, ``chat``,
    ``conversations``, ``users``, ``views``) the full name must also be one of Slack's published
    method names, so a typo such as ``chat.postMesage`` is an ``unknown_method`` too.  Any other
    well-formed method of a real family (``reactions.add``, ``pins.add``, ...) gets ``{"ok": true}``
    and is recorded, so unexpected calls stay visible in :meth:`FakeSlack.calls`.

Blocks
    Like Slack, the fake gives every stored block a ``block_id`` and every interactive element an
    ``action_id`` when the sender left them out (deterministically, see :func:`ensure_block_ids`).
    Recorded call params are kept exactly as sent.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import itertools
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from bot.sandbox import block_kit_rules
from bot.sandbox.fake_slack_files import FILE_METHODS, UPLOAD_PATH, FakeFile, FakeFiles
from bot.sandbox.fake_slack_files import HANDLERS as FILE_HANDLERS
from bot.sandbox.fake_socket_mode import FakeSocketMode

__all__ = [
    "BOT_ID",
    "APP_ID",
    "Call",
    "FakeSlack",
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
    "user_name_for",
]

BOT_ID = "BBOTSIM"
APP_ID = "A0SIM"
BOT_NAME = "endpoint-bot"

#: Params that slack_sdk JSON-encodes into a string when it sends a form-encoded body.
JSON_PARAMS = ("blocks", "view", "attachments", "metadata")

#: Real Slack Web API method families.
SLACK_FAMILIES = frozenset(
    {
        "admin", "api", "apps", "assistant", "auth", "bookmarks", "bots", "calls", "canvases", "chat",
        "conversations", "dialog", "dnd", "emoji", "entity", "files", "functions", "migration", "oauth",
        "openid", "pins", "reactions", "reminders", "rtm", "search", "stars", "team", "tooling",
        "usergroups", "users", "views", "workflows",
    }
)  # fmt: skip

#: Families whose complete method lists the fake knows; other names in them are unknown.
KNOWN_METHODS: dict[str, frozenset[str]] = {
    "auth": frozenset({"auth.test", "auth.revoke", "auth.teams.list"}),
    "chat": frozenset(
        {
            "chat.postMessage", "chat.update", "chat.postEphemeral", "chat.delete", "chat.getPermalink",
            "chat.meMessage", "chat.scheduleMessage", "chat.deleteScheduledMessage",
            "chat.scheduledMessages.list", "chat.unfurl", "chat.startStream", "chat.appendStream",
            "chat.stopStream",
        }
    ),
    "views": frozenset({"views.open", "views.update", "views.push", "views.publish"}),
    "files": FILE_METHODS,  # the upload flow: see fake_slack_files
    "users": frozenset(
        {
            "users.info", "users.list", "users.lookupByEmail", "users.conversations", "users.getPresence",
            "users.identity", "users.setPresence", "users.setPhoto", "users.deletePhoto",
            "users.profile.get", "users.profile.set", "users.discoverableContacts.lookup",
        }
    ),
    "conversations": frozenset(
        {
            "conversations.info", "conversations.list", "conversations.history", "conversations.replies",
            "conversations.members", "conversations.join", "conversations.leave", "conversations.open",
            "conversations.close", "conversations.create", "conversations.archive",
            "conversations.unarchive", "conversations.invite", "conversations.kick", "conversations.mark",
            "conversations.rename", "conversations.setPurpose", "conversations.setTopic",
            "conversations.acceptSharedInvite", "conversations.approveSharedInvite",
            "conversations.declineSharedInvite", "conversations.inviteShared",
            "conversations.listConnectInvites", "conversations.externalInvitePermissions.set",
            "conversations.requestSharedInvite.approve", "conversations.requestSharedInvite.deny",
            "conversations.requestSharedInvite.list", "conversations.canvases.create",
        }
    ),
}  # fmt: skip

_METHOD_RE = re.compile(r"^[a-z]+(\.[a-zA-Z]+)+$")

#: Element types that carry a value Slack reports in ``state.values`` (buttons and overflows do not).
STATEFUL_ELEMENTS = frozenset(
    {
        "plain_text_input", "number_input", "email_text_input", "url_text_input", "rich_text_input",
        "static_select", "external_select", "users_select", "conversations_select", "channels_select",
        "multi_static_select", "multi_external_select", "multi_users_select",
        "multi_conversations_select", "multi_channels_select", "checkboxes", "radio_buttons",
        "datepicker", "timepicker", "datetimepicker", "file_input",
    }
)  # fmt: skip

MAX_VIEW_STACK = 3
MAX_RESPONSE_URL_USES = 5
# A trigger_id is good for 3 seconds after the interaction that carried it, and for one view:
# https://docs.slack.dev/interactivity/handling-user-interaction#modal_responses
TRIGGER_SECONDS = 3.0


class SlackRefused(AssertionError):
    """Slack would not accept what the app answered to an interaction (e.g. an invalid view in a
    ``response_action`` ack): the person sees an error in the form instead."""


# --------------------------------------------------------------------------------------------------
# Small helpers shared with slack_requests
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


def _truthy(value: Any) -> bool:
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


@dataclass
class _Failure:
    method: str
    status: int
    remaining: int | None
    retry_after: int | None
    error: str | None
    after_commit: bool = False


@dataclass
class _ViewRecord:
    view: dict[str, Any]
    user: str | None
    errors: dict[str, str] | None = None


#: What a view holds for the fields its spec leaves out (a views.update replaces the whole view).
_VIEW_DEFAULTS: dict[str, Any] = {
    "title": None,
    "close": None,
    "submit": None,
    "private_metadata": "",
    "callback_id": "",
    "external_id": "",
}

_ERRORS_BY_STATUS = {429: "ratelimited", 500: "fatal_error", 502: "bad_gateway", 503: "service_unavailable"}


class _Reply:
    """What the HTTP layer sends back."""

    def __init__(
        self, status: int, body: Any, headers: dict[str, str] | None = None, problems: list[str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.problems = problems or []


# --------------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------------


class FakeSlack:
    """A fake Slack Web API server.  See the module docstring for the rules it follows.

    >>> with FakeSlack() as fake:
    ...     client = WebClient(token="xoxb-test", base_url=fake.base_url)
    ...     client.chat_postMessage(channel="C1", text="hi")
    ...     fake.messages("C1")[0].text
    'hi'
    """

    def __init__(
        self,
        *,
        bot_token: str | None = None,
        team_id: str = "T0SIM",
        team: str = "Simulated Workspace",
        bot_user_id: str = "UBOTSIM",
        team_domain: str = "sim",
        ts_clock: TsClock | None = None,
        port: int = 0,
        app_token: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.team = team
        self.bot_user_id = bot_user_id
        self.team_domain = team_domain
        self.ts_clock = ts_clock or TsClock()
        #: When trigger_ids expire is judged by this clock (seconds).
        self.clock = clock
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._failures: list[_Failure] = []
        self._fail_rate = 0.0
        self._fail_rate_statuses: tuple[int, ...] = (429, 503)
        self._fail_rate_methods: frozenset[str] | None = None
        self._fail_rate_retry_after = 0
        self._rng = random.Random()
        self._listeners: list[Callable[[Call], None]] = []
        self._token_refusal: str | None = None  # set: every call with a bot token answers this error
        self._reset_state()
        #: Socket Mode: ``apps.connections.open`` and the WebSocket it hands out (``app_token``: the one
        #: app-level token accepted; None accepts any ``xapp-`` token).
        self.socket_mode = FakeSocketMode(app_token=app_token, app_id=APP_ID, root_url=lambda: self.root_url)

    def _reset_state(self) -> None:
        self._messages: dict[str, list[Message]] = {}
        self._ephemerals: list[Message] = []
        self._views: dict[str, _ViewRecord] = {}
        self._stacks: dict[str | None, list[str]] = {}
        self._home_views: dict[str, dict[str, Any]] = {}
        self._used_triggers: set[str] = set()
        self._trigger_users: dict[str, str] = {}
        self._trigger_times: dict[str, float] = {}
        self._response_contexts: dict[str, ResponseContext] = {}
        self._response_url_uses: dict[str, int] = {}
        self._view_seq = itertools.count(1)
        self._trigger_seq = itertools.count(1)
        self.files = FakeFiles(self)  # uploads, files.info, DMs: see fake_slack_files

    # -------------------------------------------------------------- lifecycle

    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeSlack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self.socket_mode.stop()
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def base_url(self) -> str:
        """The Web API base URL, with its trailing slash: ``WebClient(base_url=fake.base_url)``."""
        return f"{self.root_url}api/"

    def response_url(
        self,
        tag: str,
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """A response_url on the fake.  Give the context (or use a :func:`make_response_tag` tag) so
        that responses show up in the right channel, to the right user, or replace the right message."""
        if channel is not None or user is not None or message_ts is not None:
            with self._lock:
                self._response_contexts[tag] = ResponseContext(channel, user, message_ts)
        return f"{self.root_url}respond/{quote(tag, safe='~.-_')}"

    def trigger_id(self, user_id: str) -> str:
        """Issue a fresh trigger_id for ``user_id``; views opened with it belong to that user."""
        with self._lock:
            seq = next(self._trigger_seq)
            trigger = f"{int(time.time() * 1000)}{seq:04d}.{seq}.{secrets.token_hex(16)}"
            self._trigger_users[trigger] = user_id
            self._trigger_times[trigger] = self.clock()
        return trigger

    def requests(self, signing_secret: str, **kwargs: Any) -> Any:
        """A ``SlackRequests`` wired to this fake (response_urls and trigger_ids come from here)."""
        from bot.sandbox.slack_requests import SlackRequests

        kwargs.setdefault("team_id", self.team_id)
        kwargs.setdefault("team_domain", self.team_domain)
        kwargs.setdefault("response_url_factory", self.response_url)
        kwargs.setdefault("trigger_id_factory", self.trigger_id)
        return SlackRequests(signing_secret, **kwargs)

    # -------------------------------------------------------------- recorded calls

    def add_listener(self, listener: Callable[[Call], None]) -> None:
        """Call ``listener(call)`` after each recorded call, once its effects are visible (e.g. to
        re-render a terminal view).  It runs on the server's request thread."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Call], None]) -> None:
        with self._lock:
            self._listeners.remove(listener)

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` matching ``predicate`` have arrived; return all
        matching calls.  Raises ``AssertionError`` listing what did arrive on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                matching = [
                    c for c in self._calls if c.method == method and (predicate is None or predicate(c))
                ]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    arrived = "\n".join(
                        f"  {c.method} status={c.status} ok={c.ok} params={_short(c.params)}"
                        for c in self._calls
                    )
                    raise AssertionError(
                        f"expected {count} call(s) to {method}"
                        f"{' matching the predicate' if predicate else ''} within {timeout}s, "
                        f"got {len(matching)}; calls received:\n{arrived or '  (none)'}"
                    )
                self._cond.wait(min(remaining, 0.1))

    def clear(self) -> None:
        """Forget the recorded calls (workspace state and failure rules are kept)."""
        with self._lock:
            self._calls.clear()

    def reset(self) -> None:
        """Forget everything: calls, messages, views, failure rules."""
        with self._lock:
            self._calls.clear()
            self._failures.clear()
            self._fail_rate = 0.0
            self._reset_state()

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

    def open_views(self, user: str | None = None) -> list[dict[str, Any]]:
        """Open modal views (bottom of each stack first), for one user or everyone."""
        with self._lock:
            out: list[dict[str, Any]] = []
            for stack_user, stack in self._stacks.items():
                if user is None or stack_user == user:
                    out.extend(copy.deepcopy(self._views[vid].view) for vid in stack)
            return out

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._lock:
            rec = self._views.get(view_id)
            return copy.deepcopy(rec.view) if rec else None

    def view_user(self, view_id: str) -> str | None:
        with self._lock:
            rec = self._views.get(view_id)
            return rec.user if rec else None

    def view_errors(self, view_id: str) -> dict[str, str] | None:
        """Errors shown on an open view after a submission was acked with ``response_action=errors``."""
        with self._lock:
            rec = self._views.get(view_id)
            return dict(rec.errors) if rec and rec.errors else None

    def home_view(self, user: str) -> dict[str, Any] | None:
        with self._lock:
            v = self._home_views.get(user)
            return copy.deepcopy(v) if v else None

    # -------------------------------------------------------------- closing views

    def close_view(self, view_id: str) -> bool:
        """Close a view and any view pushed on top of it (what Slack does when a submission is acked
        without a ``response_action``).  Returns whether the view was open."""
        with self._lock:
            for stack in self._stacks.values():
                if view_id in stack:
                    idx = stack.index(view_id)
                    for vid in stack[idx:]:
                        self._views.pop(vid, None)
                    del stack[idx:]
                    return True
            return False

    def clear_views(self, view_id: str) -> bool:
        """Close the whole stack that ``view_id`` is in (``response_action=clear``)."""
        with self._lock:
            for stack in self._stacks.values():
                if view_id in stack:
                    return self.close_view(stack[0])
            return False

    def apply_view_ack(self, view_id: str, ack_body: str | bytes | Mapping[str, Any] | None) -> str:
        """Do what Slack does with the body of a view_submission ack (e.g. ``BoltResponse.body``).

        Returns ``"closed"``, ``"errors"``, ``"updated"``, ``"pushed"`` or ``"cleared"``.
        """
        if isinstance(ack_body, bytes):
            ack_body = ack_body.decode()
        body: dict[str, Any] = {}
        if isinstance(ack_body, str) and ack_body.strip():
            body = json.loads(ack_body)
        elif isinstance(ack_body, Mapping):
            body = dict(ack_body)
        action = body.get("response_action")
        problems = block_kit_rules.view_ack_problems(body)
        too_large = action in ("update", "push") and block_kit_rules.view_size_problem(body.get("view"))
        if problems or too_large:
            reasons = "; ".join(problems) or "view_too_large"
            raise SlackRefused(
                f"Slack refused the bot's answer to the form ({reasons}); the person sees "
                '"We had some trouble connecting" in the form'
            )
        with self._lock:
            rec = self._views.get(view_id)
            if rec is None:
                raise KeyError(f"no open view {view_id}")
            if action == "errors":
                rec.errors = dict(body.get("errors") or {})
                return "errors"
            if action == "update":
                rec.errors = None
                self._replace_view(rec, body.get("view") or {})
                return "updated"
            if action == "push":
                rec.errors = None
                stack = self._stacks.setdefault(rec.user, [])
                new = self._new_view(body.get("view") or {}, rec.user, previous=stack[-1], root=stack[0])
                stack.append(new["id"])
                return "pushed"
            if action == "clear":
                self.clear_views(view_id)
                return "cleared"
            self.close_view(view_id)
            return "closed"

    # -------------------------------------------------------------- failure injection

    def fail(
        self,
        method: str,
        status: int,
        *,
        times: int | None = 1,
        retry_after: int | None = None,
        error: str | None = None,
        after_commit: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (``times=None``: until :meth:`clear_failures`).

        With ``after_commit`` the call takes effect first (the message is posted) and only the answer is
        the failure: what a client sees when Slack's answer is lost after the work was done.

        ``status=429`` answers ``ratelimited`` with a ``Retry-After`` header (``retry_after``, default
        1); 5xx answer an error body; ``status=200`` with ``error="channel_not_found"`` answers a
        Slack-level error.  ``method="response_url"`` makes response_url POSTs fail.
        """
        if status == 200 and not error:
            raise ValueError("a status-200 failure needs an error code")
        with self._lock:
            self._failures.append(_Failure(method, status, times, retry_after, error, after_commit))

    def fail_rate(
        self,
        rate: float,
        statuses: Iterable[int] = (429, 503),
        seed: int | None = None,
        methods: Iterable[str] | None = None,
        *,
        retry_after: int = 0,
    ) -> None:
        """Fail a random share ``rate`` of calls (of ``methods``, default all Web API methods) with one
        of ``statuses``.  ``rate=0`` turns it off."""
        with self._lock:
            self._fail_rate = rate
            self._fail_rate_statuses = tuple(statuses)
            self._fail_rate_methods = frozenset(methods) if methods is not None else None
            self._fail_rate_retry_after = retry_after
            self._rng = random.Random(seed)

    def revoke_token(self, error: str = "token_revoked") -> None:
        """The bot token stops working from now on, as when the token is revoked (`token_revoked`), the app
        is uninstalled or disabled (`invalid_auth`, `account_inactive`): every Web API call made with it,
        auth.test included, answers that error, as Slack does."""
        if error not in ("token_revoked", "invalid_auth", "account_inactive"):
            raise ValueError(
                f"Slack refuses a token with token_revoked, invalid_auth or account_inactive, not {error!r}"
            )
        with self._lock:
            self._token_refusal = error

    def restore_token(self) -> None:
        """Slack accepts the bot token again (the app was re-enabled)."""
        with self._lock:
            self._token_refusal = None

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()
            self._fail_rate = 0.0

    def _injected_failure(self, method: str) -> _Failure | None:
        for rule in self._failures:
            if rule.method == method and (rule.remaining is None or rule.remaining > 0):
                if rule.remaining is not None:
                    rule.remaining -= 1
                return rule
        self._failures = [r for r in self._failures if r.remaining is None or r.remaining > 0]
        in_scope = (
            method in self._fail_rate_methods
            if self._fail_rate_methods is not None
            else method != "response_url"
        )
        if self._fail_rate > 0 and in_scope and self._rng.random() < self._fail_rate:
            status = self._rng.choice(self._fail_rate_statuses)
            return _Failure(method, status, 0, self._fail_rate_retry_after, None)
        return None

    @staticmethod
    def _failure_reply(rule: _Failure) -> _Reply:
        error = rule.error or _ERRORS_BY_STATUS.get(rule.status, f"http_{rule.status}")
        headers = {}
        if rule.status == 429:
            headers["Retry-After"] = str(1 if rule.retry_after is None else rule.retry_after)
        return _Reply(rule.status, {"ok": False, "error": error}, headers)

    # -------------------------------------------------------------- request handling

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

    def handle_api(self, method: str, params: dict[str, Any], headers: Mapping[str, str]) -> _Reply:
        params = _decode_json_params(params)
        with self._lock:
            rule = self._injected_failure(method)
            if rule is not None and rule.after_commit and self._is_known_method(method):
                self._authorize(params, headers) or self._run_method(method, params)
                reply = self._failure_reply(rule)
            elif rule is not None:
                reply = self._failure_reply(rule)
            elif method == "apps.connections.open":  # app-level token, header only: see fake_socket_mode
                reply = _Reply(200, self.socket_mode.open_connection(params, headers))
            elif not self._is_known_method(method):
                reply = _Reply(200, {"ok": False, "error": "unknown_method", "req_method": method})
            else:
                reply = self._authorize(params, headers) or self._run_method(method, params)
            # Recorded under the same lock as its effect: whoever sees the effect (a view, a message) also
            # finds the call that made it.
            call = Call(
                method=method,
                params=copy.deepcopy(params),
                headers=dict(headers),
                at=time.time(),
                status=reply.status,
                response=copy.deepcopy(reply.body),
                response_headers=dict(reply.headers),
                problems=_problems_of(reply.body),
            )
            listeners = self._append(call)
        self._notify(listeners, call)
        return reply

    @staticmethod
    def _is_known_method(method: str) -> bool:
        if not _METHOD_RE.match(method):
            return False
        family = method.split(".", 1)[0]
        if family not in SLACK_FAMILIES:
            return False
        known = KNOWN_METHODS.get(family)
        return known is None or method in known

    def _authorize(self, params: dict[str, Any], headers: Mapping[str, str]) -> _Reply | None:
        token: str | None = None
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        elif isinstance(params.get("token"), str):
            token = params["token"]
        if not token:
            return _Reply(200, {"ok": False, "error": "not_authed"})
        if not token.startswith("xoxb-") or (self.bot_token is not None and token != self.bot_token):
            return _Reply(200, {"ok": False, "error": "invalid_auth"})
        if self._token_refusal is not None:
            return _Reply(200, {"ok": False, "error": self._token_refusal})
        return None

    def _run_method(self, method: str, params: dict[str, Any]) -> _Reply:
        handler = _HANDLERS.get(method)
        body = handler(self, params) if handler else {"ok": True}
        return _Reply(200, body)

    # ---- auth / users / conversations

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team,
            "user": BOT_NAME,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _auth_revoke(self, params: dict[str, Any]) -> dict[str, Any]:
        # The calling token is revoked (with test=true, only checked); later calls answer token_revoked.
        test = str(params.get("test", "")).lower() in ("1", "true")
        if not test:
            self._token_refusal = "token_revoked"
        return {"ok": True, "revoked": not test}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = params.get("user")
        if not user:
            return {"ok": False, "error": "user_not_found"}
        is_bot = user == self.bot_user_id
        name = BOT_NAME if is_bot else user_name_for(user)
        real_name = BOT_NAME if is_bot else real_name_for(user)
        return {
            "ok": True,
            "user": {
                "id": user,
                "team_id": self.team_id,
                "name": name,
                "real_name": real_name,
                "deleted": False,
                "is_bot": is_bot,
                "is_admin": False,
                "tz": "UTC",
                "tz_offset": 0,
                "profile": {
                    "real_name": real_name,
                    "display_name": name,
                    "real_name_normalized": real_name,
                    "display_name_normalized": name,
                    "email": None if is_bot else f"{name}@{self.team_domain}.example",
                    "team": self.team_id,
                },
            },
        }

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": channel_name_for(channel),
                "is_channel": channel.startswith("C"),
                "is_group": channel.startswith("G"),
                "is_im": channel.startswith("D"),
                "is_private": channel.startswith(("G", "D")),
                "is_archived": False,
                "is_member": True,
                "created": 1700000000,
                "context_team_id": self.team_id,
            },
        }

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        limit = int(params.get("limit") or 100)
        top = [m for m in self._messages.get(channel, []) if not m.is_reply or m.broadcast]
        newest_first = [self._with_thread_info(m) for m in reversed(top)]
        return {"ok": True, "messages": newest_first[:limit], "has_more": len(newest_first) > limit}

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        parent = self._find_message(channel, ts) if channel and ts else None
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        root_ts = parent.thread_ts or parent.ts
        root = self._find_message(channel, root_ts) or parent
        thread = [
            m.to_dict() for m in self._messages.get(root.channel, []) if m.is_reply and m.thread_ts == root_ts
        ]
        return {"ok": True, "messages": [self._with_thread_info(root), *thread], "has_more": False}

    def _with_thread_info(self, msg: Message) -> dict[str, Any]:
        out = msg.to_dict()
        replies = [m for m in self._messages.get(msg.channel, []) if m.is_reply and m.thread_ts == msg.ts]
        if replies:
            out["thread_ts"] = msg.ts
            out["reply_count"] = len(replies)
            out["latest_reply"] = replies[-1].ts
        return out

    # ---- chat

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

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
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
        if not channel:
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

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, user = params.get("channel"), params.get("user")
        if not channel:
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

    # ---- views

    def _new_view_id(self) -> str:
        return f"V{next(self._view_seq):04d}{secrets.token_hex(3).upper()}"

    @staticmethod
    def _new_hash() -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    def _new_view(
        self,
        spec: Mapping[str, Any],
        user: str | None,
        *,
        previous: str | None = None,
        root: str | None = None,
    ) -> dict[str, Any]:
        vid = self._new_view_id()
        view: dict[str, Any] = {
            "id": vid,
            "team_id": self.team_id,
            "type": spec.get("type", "modal"),
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": self._new_hash(),
            "title": None,
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": previous,
            "root_view_id": root or vid,
            "app_id": APP_ID,
            "external_id": "",
            "app_installed_team_id": self.team_id,
            "bot_id": BOT_ID,
        }
        self._apply_view_spec(view, spec)
        self._views[vid] = _ViewRecord(view=view, user=user)
        return view

    @staticmethod
    def _apply_view_spec(view: dict[str, Any], spec: Mapping[str, Any]) -> None:
        for key in ("type", "title", "close", "submit", "private_metadata", "callback_id", "external_id"):
            if key in spec:
                view[key] = copy.deepcopy(spec[key])
            elif key in _VIEW_DEFAULTS:  # an update replaces the whole view: what it leaves out is gone
                view[key] = _VIEW_DEFAULTS[key]
        for key in ("clear_on_close", "notify_on_close", "submit_disabled"):
            if key in spec:
                view[key] = _truthy(spec[key])
        view["blocks"] = ensure_block_ids(copy.deepcopy(spec.get("blocks") or []))
        # Slack keeps input state for blocks that survive an update.
        ids = {b.get("block_id") for b in view["blocks"] if isinstance(b, dict)}
        view["state"] = {"values": {k: v for k, v in view["state"]["values"].items() if k in ids}}

    def _replace_view(self, rec: _ViewRecord, spec: Mapping[str, Any]) -> None:
        self._apply_view_spec(rec.view, spec)
        rec.view["hash"] = self._new_hash()

    @staticmethod
    def _view_spec(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The ``view`` param and, when Slack would not accept it, the error answer."""
        spec = params.get("view")
        if not isinstance(spec, dict):
            return {}, block_kit_rules.refusal(
                "invalid_arguments", ["expected an object [json-pointer:/view]"]
            )
        if block_kit_rules.view_size_problem(spec):
            return spec, {"ok": False, "error": "view_too_large"}
        problems = block_kit_rules.view_problems({"blocks": [], **spec})
        if problems:
            return spec, block_kit_rules.refusal("invalid_arguments", problems)
        return spec, None

    def _external_id_taken(self, external_id: Any, except_view: str | None = None) -> bool:
        if not external_id:
            return False
        return any(
            r.view.get("external_id") == external_id and vid != except_view for vid, r in self._views.items()
        )

    def _take_trigger(self, params: Mapping[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
        trigger = params.get("trigger_id") or params.get("interactivity_pointer")
        if not trigger:
            return None, {"ok": False, "error": "invalid_arguments"}
        if trigger in self._used_triggers:
            return None, {"ok": False, "error": "exchanged_trigger_id"}
        issued = self._trigger_times.get(str(trigger))
        if issued is not None and self.clock() - issued > TRIGGER_SECONDS:
            return None, {"ok": False, "error": "expired_trigger_id"}
        return str(trigger), None

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger, err = self._take_trigger(params)
        if err:
            return err
        spec, err = self._view_spec(params)
        if err:
            return err
        if self._external_id_taken(spec.get("external_id")):
            return {"ok": False, "error": "duplicate_external_id"}
        self._used_triggers.add(str(trigger))
        user = self._trigger_users.get(str(trigger))
        for vid in self._stacks.get(user, []):
            self._views.pop(vid, None)
        view = self._new_view(spec, user)
        self._stacks[user] = [view["id"]]
        return {"ok": True, "view": copy.deepcopy(view)}

    def _views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger, err = self._take_trigger(params)
        if err:
            return err
        spec, err = self._view_spec(params)
        if err:
            return err
        user = self._trigger_users.get(str(trigger))
        stack = self._stacks.get(user) or []
        if not stack:
            return {"ok": False, "error": "not_found"}
        if len(stack) >= MAX_VIEW_STACK:
            return {"ok": False, "error": "push_limit_reached"}
        if self._external_id_taken(spec.get("external_id")):
            return {"ok": False, "error": "duplicate_external_id"}
        self._used_triggers.add(str(trigger))
        view = self._new_view(spec, user, previous=stack[-1], root=stack[0])
        stack.append(view["id"])
        return {"ok": True, "view": copy.deepcopy(view)}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if not view_id and not external_id:
            return {"ok": False, "error": "invalid_arguments"}
        spec, err = self._view_spec(params)
        if err:
            return err
        rec = self._views.get(view_id) if view_id else None
        if rec is None and external_id:
            rec = next((r for r in self._views.values() if r.view.get("external_id") == external_id), None)
        if rec is None:
            return {"ok": False, "error": "not_found"}
        if params.get("hash") and params["hash"] != rec.view["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        if self._external_id_taken(spec.get("external_id"), except_view=rec.view["id"]):
            return {"ok": False, "error": "duplicate_external_id"}
        rec.errors = None
        self._replace_view(rec, spec)
        return {"ok": True, "view": copy.deepcopy(rec.view)}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user = params.get("user_id")
        if not user:
            return {"ok": False, "error": "invalid_arguments"}
        spec, err = self._view_spec(params)
        if err:
            return err
        current = self._home_views.get(user)
        if current and params.get("hash") and params["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        if current is None:
            current = self._new_view(spec, user)
            self._views.pop(current["id"], None)  # home tabs are not modals
        else:
            self._apply_view_spec(current, spec)
            current["hash"] = self._new_hash()
        self._home_views[user] = current
        return {"ok": True, "view": copy.deepcopy(current)}

    # ---- response_url

    def handle_response_url(self, tag: str, payload: Any, headers: Mapping[str, str]) -> _Reply:
        with self._lock:
            reply = self._respond(tag, payload)
        self._record(
            Call(
                method="response_url",
                params=copy.deepcopy(payload) if isinstance(payload, dict) else {"_raw": payload},
                headers=dict(headers),
                at=time.time(),
                status=reply.status,
                response=reply.body,
                tag=tag,
                response_headers=dict(reply.headers),
                problems=list(reply.problems),
            )
        )
        return reply

    def _respond(self, tag: str, payload: Any) -> _Reply:
        rule = self._injected_failure("response_url")
        if rule is not None:
            failed = self._failure_reply(rule)
            return _Reply(failed.status, failed.body["error"], failed.headers)
        if not isinstance(payload, dict):
            return _Reply(400, "invalid_payload")
        uses = self._response_url_uses.get(tag, 0)
        if uses >= MAX_RESPONSE_URL_USES:
            return _Reply(404, "used_url")
        payload = _decode_json_params(payload)
        delete = _truthy(payload.get("delete_original"))
        if not delete and not self._has_content(payload):
            return _Reply(400, "no_text")
        refused = self._refuse_message(payload)
        if refused:
            # A response_url answers in plain text: the error alone (the reasons are on the Call).
            return _Reply(400, refused["error"], problems=refused["errors"])
        self._response_url_uses[tag] = uses + 1

        ctx = self._response_contexts.get(tag) or parse_response_tag(tag) or ResponseContext()
        original = None
        if ctx.message_ts:
            original = self._find_message(ctx.channel, ctx.message_ts) or self._find_ephemeral(
                ctx.channel, ctx.message_ts
            )
        if delete:
            if original is not None:
                if original.ephemeral_for is not None:
                    self._ephemerals.remove(original)
                else:
                    self._messages[original.channel].remove(original)
            return _Reply(200, "ok")
        if _truthy(payload.get("replace_original")) and original is not None:
            self._edit(original, payload)
            return _Reply(200, "ok")

        channel = ctx.channel or ""
        if payload.get("response_type") == "in_channel":
            _, root = self._thread_root(channel, payload.get("thread_ts"))
            msg = self._new_message(channel, payload, root)
            self._messages.setdefault(channel, []).append(msg)
        else:
            msg = self._new_message(channel, payload, payload.get("thread_ts") or None)
            msg.ephemeral_for = ctx.user or ""
            self._ephemerals.append(msg)
        return _Reply(200, "ok")


_HANDLERS: dict[str, Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": FakeSlack._auth_test,
    "auth.revoke": FakeSlack._auth_revoke,
    "users.info": FakeSlack._users_info,
    "conversations.info": FakeSlack._conversations_info,
    "conversations.history": FakeSlack._conversations_history,
    "conversations.replies": FakeSlack._conversations_replies,
    "chat.postMessage": FakeSlack._chat_post_message,
    "chat.update": FakeSlack._chat_update,
    "chat.postEphemeral": FakeSlack._chat_post_ephemeral,
    "chat.delete": FakeSlack._chat_delete,
    "chat.getPermalink": FakeSlack._chat_get_permalink,
    "views.open": FakeSlack._views_open,
    "views.push": FakeSlack._views_push,
    "views.update": FakeSlack._views_update,
    "views.publish": FakeSlack._views_publish,
    **FILE_HANDLERS,
}


def _decode_json_params(params: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(params)
    for key in JSON_PARAMS:
        value = out.get(key)
        if isinstance(value, str) and value.strip():
            with contextlib.suppress(ValueError):
                out[key] = json.loads(value)
    return out


def _problems_of(body: Any) -> list[str]:
    if isinstance(body, dict) and not body.get("ok", True):
        return list(body.get("errors") or [])
    return []


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeSlack


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/link/":  # a Socket Mode WebSocket, from apps.connections.open
            self.server.fake.socket_mode.serve(self, url.query)
            return
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        content_type = headers.get("content-type", "")
        fake = self.server.fake

        if url.path.startswith("/api/"):
            method = url.path[len("/api/") :]
            params: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
            params.update(_parse_body(raw, content_type))
            reply = fake.handle_api(method, params, headers)
            self._send(reply.status, json.dumps(reply.body), "application/json; charset=utf-8", reply.headers)
        elif url.path.startswith(UPLOAD_PATH):  # the bytes of a file, to the URL getUploadURLExternal gave
            status, body = fake.files.receive(url.path[len(UPLOAD_PATH) :], raw)
            self._send(status, body, "text/plain", {})
        elif url.path.startswith("/respond/"):
            tag = unquote(url.path[len("/respond/") :])
            payload: Any
            try:
                if "application/x-www-form-urlencoded" in content_type:
                    payload = json.loads(dict(parse_qsl(raw.decode())).get("payload", ""))
                else:
                    payload = json.loads(raw.decode() or "null")
            except ValueError:
                payload = raw.decode(errors="replace")
            reply = fake.handle_response_url(tag, payload, headers)
            self._send(reply.status, str(reply.body), "text/html", reply.headers)
        else:
            self._send(404, json.dumps({"ok": False, "error": "not_found"}), "application/json", {})

    def _send(self, status: int, body: str, content_type: str, headers: Mapping[str, str]) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    ctype = content_type.lower()
    if "application/json" in ctype:
        try:
            data = json.loads(raw.decode())
        except ValueError:
            return {"_raw": raw.decode(errors="replace")}
        return data if isinstance(data, dict) else {"_json": data}
    if "multipart/form-data" in ctype:
        msg = BytesParser(policy=HTTP_POLICY).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        out: dict[str, Any] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str) or not name:
                continue
            content = part.get_payload(decode=True)
            if not isinstance(content, bytes):
                content = b""
            if part.get_filename():
                out[name] = {"filename": part.get_filename(), "size": len(content)}
            else:
                out[name] = content.decode(errors="replace")
        return out
    return dict(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
