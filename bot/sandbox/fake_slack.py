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

Extensions
    What the fake does not model, a test adds: :meth:`FakeSlack.serve_method` answers a method its own way
    (before the bot-token check) and :meth:`FakeSlack.on_upgrade` hands a GET on a path, with its socket,
    to a handler.  The tests' Socket Mode (``tests/support/socket_mode.py``) is built on the two.

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

The methods live by family: ``fake_slack_chat`` (``chat.*``), ``fake_slack_directory`` (``auth.*``,
``users.*``, ``conversations.*``), ``fake_slack_views`` (``views.*``), ``fake_slack_files`` (``files.*``),
``fake_slack_interactivity`` (trigger_ids, response_urls); the data types are in ``slack_types``, the HTTP
server in ``fake_slack_http`` and injected failures in ``fake_slack_failures``.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.sandbox import fake_slack_chat, fake_slack_directory, fake_slack_views
from bot.sandbox.fake_slack_chat import ChatMethods
from bot.sandbox.fake_slack_directory import DirectoryMethods
from bot.sandbox.fake_slack_failures import Failure
from bot.sandbox.fake_slack_files import FILE_METHODS
from bot.sandbox.fake_slack_files import HANDLERS as FILE_HANDLERS
from bot.sandbox.fake_slack_http import (
    Reply,
    SlackHttpServer,
    UpgradeHandler,
    decode_json_params,
    make_server,
)
from bot.sandbox.fake_slack_views import ViewMethods
from bot.sandbox.slack_requests import SlackRequests
from bot.sandbox.slack_types import Call, TsClock

__all__ = ["FakeSlack", "MethodHandler"]

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

#: Families whose complete method lists the fake knows; other names in them are unknown.
KNOWN_METHODS: dict[str, frozenset[str]] = {
    **fake_slack_directory.METHODS,
    "chat": fake_slack_chat.METHODS,
    "views": fake_slack_views.METHODS,
    "files": FILE_METHODS,  # the upload flow: see fake_slack_files
}

_METHOD_RE = re.compile(r"^[a-z]+(\.[a-zA-Z]+)+$")

#: Answers one Web API method: ``(params, headers) -> body``.
MethodHandler = Callable[[Mapping[str, Any], Mapping[str, str]], dict[str, Any]]


class FakeSlack(ChatMethods, DirectoryMethods, ViewMethods):
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
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            bot_token=bot_token,
            team_id=team_id,
            team=team,
            bot_user_id=bot_user_id,
            team_domain=team_domain,
            ts_clock=ts_clock,
            clock=clock,
        )
        self._port = port
        self._server: SlackHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._extra_methods: dict[str, MethodHandler] = {}
        self._upgrades: dict[str, UpgradeHandler] = {}

    # -------------------------------------------------------------- lifecycle

    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        server = make_server(self, self._port)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeSlack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
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

    def requests(self, signing_secret: str, **kwargs: Any) -> SlackRequests:
        """A ``SlackRequests`` wired to this fake (response_urls and trigger_ids come from here)."""
        kwargs.setdefault("team_id", self.team_id)
        kwargs.setdefault("team_domain", self.team_domain)
        kwargs.setdefault("response_url_factory", self.response_url)
        kwargs.setdefault("trigger_id_factory", self.trigger_id)
        return SlackRequests(signing_secret, **kwargs)

    # -------------------------------------------------------------- extensions

    def serve_method(self, method: str, handler: MethodHandler) -> None:
        """Answer ``method`` with ``handler(params, headers)``, before the bot-token check (a method with
        its own kind of token, such as Socket Mode's ``apps.connections.open``).  Injected failures still
        apply, and the call is recorded."""
        with self._lock:
            self._extra_methods[method] = handler

    def on_upgrade(self, path: str, handler: UpgradeHandler) -> None:
        """Hand a GET on ``path`` to ``handler`` with its connection (a WebSocket, say)."""
        with self._lock:
            self._upgrades[path] = handler

    def upgrade_handler(self, path: str) -> UpgradeHandler | None:
        with self._lock:
            return self._upgrades.get(path)

    def handle_upload(self, ticket: str, data: bytes) -> tuple[int, str]:
        """The bytes of a file POSTed to the URL ``files.getUploadURLExternal`` gave."""
        return self.files.receive(ticket, data)

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
            self._reset_state()

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
            self._failures.add(Failure(method, status, times, retry_after, error, after_commit))

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
            self._failures.set_rate(rate, statuses, seed, methods, retry_after)

    def private_channel(self, channel: str) -> None:
        """`channel` is private and the app is not in it: every post, update or look there answers
        channel_not_found, as Slack does, until `invite_bot(channel)`."""
        with self._lock:
            self._closed_channels.add(channel)

    def invite_bot(self, channel: str) -> None:
        """Someone typed `/invite @endpoint-bot` in `channel`."""
        with self._lock:
            self._closed_channels.discard(channel)

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

    # -------------------------------------------------------------- request handling

    def handle_api(self, method: str, params: dict[str, Any], headers: Mapping[str, str]) -> Reply:
        params = decode_json_params(params)
        with self._lock:
            rule = self._failures.take(method)
            if rule is not None and rule.after_commit and self._is_known_method(method):
                self._authorize(params, headers) or self._run_method(method, params)
                reply = rule.reply()
            elif rule is not None:
                reply = rule.reply()
            elif method in self._extra_methods:  # its own kind of token: see serve_method
                reply = Reply(200, self._extra_methods[method](params, headers))
            elif not self._is_known_method(method):
                reply = Reply(200, {"ok": False, "error": "unknown_method", "req_method": method})
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

    def _authorize(self, params: dict[str, Any], headers: Mapping[str, str]) -> Reply | None:
        token: str | None = None
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        elif isinstance(params.get("token"), str):
            token = params["token"]
        if not token:
            return Reply(200, {"ok": False, "error": "not_authed"})
        if not token.startswith("xoxb-") or (self.bot_token is not None and token != self.bot_token):
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        if self._token_refusal is not None:
            return Reply(200, {"ok": False, "error": self._token_refusal})
        return None

    def _run_method(self, method: str, params: dict[str, Any]) -> Reply:
        handler = _HANDLERS.get(method)
        body = handler(self, params) if handler else {"ok": True}
        return Reply(200, body)


_HANDLERS: dict[str, Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]] = {
    **fake_slack_directory.HANDLERS,
    **fake_slack_chat.HANDLERS,
    **fake_slack_views.HANDLERS,
    **FILE_HANDLERS,
}


def _problems_of(body: Any) -> list[str]:
    if isinstance(body, dict) and not body.get("ok", True):
        return list(body.get("errors") or [])
    return []


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
