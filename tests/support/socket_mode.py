"""Slack's Socket Mode, played locally on the `websockets` library, for the tests (the bot's own code has
no use for it: only `bot run` with SLACK_APP_TOKEN speaks Socket Mode, through slack_sdk's client).

:class:`FakeSocketMode` adds Socket Mode to a :class:`~bot.sandbox.fake_slack.FakeSlack` through the fake's
two extension points, so a Socket Mode client pointed at the fake's Web API finds everything on one port:

``apps.connections.open`` (:meth:`FakeSlack.serve_method`)
    Wants an app-level token (``xapp-…``) in the ``Authorization`` header, as Slack does.  No token is
    ``not_authed``; a token sent only as a POST parameter is ``invalid_auth`` (Slack refuses that for this
    method); a bot or user token is ``not_allowed_token_type``; an app token other than the one the fake
    was given is ``invalid_auth``.  Success answers ``{"ok": true, "url": "ws://127.0.0.1:<port>/link/?
    ticket=…&app_id=…"}``; each ticket opens one connection.

``GET /link/?ticket=…`` (:meth:`FakeSlack.on_upgrade`)
    The WebSocket itself: websockets' sans-I/O server protocol checks the opening handshake, and its
    threaded connection does the framing, ping/pong and the closing handshake.  On connect the fake sends
    Slack's ``hello``.

Envelopes
    :meth:`FakeSocketMode.send` delivers ``{"envelope_id", "type", "payload", "accepts_response_payload"}``
    (``events_api`` envelopes also carry ``retry_attempt`` and ``retry_reason``) to the newest open
    connection, the way Slack picks one of an app's connections.  What the client sends back,
    ``{"envelope_id", "payload"?}``, is recorded as an :class:`Ack`; :meth:`FakeSocketMode.wait_for_ack`
    waits for one (Slack gives an app 3 seconds).

Connection churn
    :meth:`FakeSocketMode.refresh` sends Slack's ``{"type": "disconnect", "reason": "refresh_requested"}``
    and closes the connection shortly after, as Slack does when it recycles a socket;
    :meth:`FakeSocketMode.close_connections` closes them at once with a close frame.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.sync.connection import Connection

from bot.sandbox import slack_requests
from bot.sandbox.driver import Answer, DriverError, SlackDriver
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedRequest
from bot.sandbox.slack_types import APP_ID

CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_UNSUPPORTED_DATA = 1000, 1001, 1003
LINK_PATH = "/link/"

#: Envelope types Slack sends over Socket Mode, and whether the app may answer with a payload by default.
ENVELOPE_TYPES = {"slash_commands": True, "interactive": False, "events_api": False}


@dataclass(frozen=True)
class Envelope:
    """One envelope the fake sent to the app."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    connection: int
    sent_at: float


@dataclass(frozen=True)
class Ack:
    """What the app sent back for an envelope."""

    envelope_id: str
    payload: dict[str, Any] | None
    connection: int
    at: float
    raw: dict[str, Any] = field(repr=False)


@dataclass
class _Link:
    """One WebSocket connection, numbered from 1 in the order they opened."""

    number: int
    websocket: Connection
    open: bool = True
    refreshing: bool = False  # a disconnect message was sent: no more envelopes go here

    @property
    def close_code(self) -> int | None:
        """The code of the client's close frame, if it sent one."""
        received = self.websocket.protocol.close_rcvd
        return received.code if received is not None else None


class FakeSocketMode:
    """Socket Mode for one FakeSlack: see the module docstring."""

    def __init__(self, fake: FakeSlack, *, app_token: str | None = None, app_id: str = APP_ID) -> None:
        self.fake = fake
        self.app_token = app_token  # None: any xapp- token is accepted
        self.app_id = app_id
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._tickets: set[str] = set()
        self._links: list[_Link] = []
        self._numbers = itertools.count(1)
        self._envelopes: list[Envelope] = []
        self._acks: list[Ack] = []
        self._unknown: list[str] = []  # text messages that were not acks
        self._timers: list[threading.Timer] = []
        fake.serve_method("apps.connections.open", self.open_connection)
        fake.on_upgrade(LINK_PATH, self.serve)

    # -------------------------------------------------------------- apps.connections.open

    def open_connection(self, params: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        """The body of Slack's answer to ``apps.connections.open``."""
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token:
            # Slack reads this method's token from the header only; one in the body is an error.
            return {"ok": False, "error": "invalid_auth" if params.get("token") else "not_authed"}
        if not token.startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        if self.app_token is not None and token != self.app_token:
            return {"ok": False, "error": "invalid_auth"}
        ticket = str(uuid.uuid4())
        with self._lock:
            self._tickets.add(ticket)
        ws_root = self.fake.root_url.replace("http://", "ws://", 1)
        return {"ok": True, "url": f"{ws_root}{LINK_PATH[1:]}?ticket={ticket}&app_id={self.app_id}"}

    # -------------------------------------------------------------- the WebSocket

    def serve(self, request: BaseHTTPRequestHandler) -> None:
        """Run one connection on the fake's request thread, from the opening handshake to the close."""
        websocket = self._handshake(request)
        if websocket is None:
            return
        with self._cond:
            link = _Link(next(self._numbers), websocket)
            self._links.append(link)
            live = sum(1 for c in self._links if c.open)
            self._cond.notify_all()
        try:
            websocket.send(json.dumps(_hello(live, self.app_id), separators=(",", ":")))
            for message in websocket:
                if isinstance(message, bytes):
                    websocket.close(CLOSE_UNSUPPORTED_DATA, "Socket Mode speaks JSON text")
                    break
                self._received(link, message)
        except (OSError, ConnectionClosed):
            pass
        finally:
            with self._cond:
                link.open = False
                self._cond.notify_all()
            websocket.close_socket()

    def _handshake(self, request: BaseHTTPRequestHandler) -> Connection | None:
        """Answer the opening handshake (the stdlib server has read the request already); the open
        connection, or None when it was refused."""
        protocol = ServerProtocol()
        head = request.requestline + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
        protocol.receive_data((head + "\r\n").encode("latin-1"))
        received = protocol.events_received()
        sock: socket.socket = request.connection
        if not received:  # not a request websockets can read: it has answered already
            sock.sendall(b"".join(protocol.data_to_send()))
            return None
        ticket = (parse_qs(urlsplit(request.path).query).get("ticket") or [""])[0]
        response = protocol.accept(received[0])  # type: ignore[arg-type]
        if response.status_code == 101:
            with self._lock:
                known = ticket in self._tickets
                self._tickets.discard(ticket)
            if not known:
                response = protocol.reject(
                    401, "unknown or used ticket: call apps.connections.open for a new URL"
                )
        protocol.send_response(response)
        sock.sendall(b"".join(protocol.data_to_send()))
        if protocol.state is not State.OPEN:
            return None
        return Connection(sock, protocol, ping_interval=None, close_timeout=1.0)

    def _received(self, link: _Link, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        with self._cond:
            if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
                payload = message.get("payload")
                self._acks.append(
                    Ack(
                        envelope_id=message["envelope_id"],
                        payload=payload if isinstance(payload, dict) else None,
                        connection=link.number,
                        at=time.time(),
                        raw=message,
                    )
                )
            else:
                self._unknown.append(text)
            self._cond.notify_all()

    # -------------------------------------------------------------- what tests do

    def send(
        self,
        type: str,  # noqa: A002 - Slack's field name
        payload: Mapping[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        timeout: float = 5.0,
    ) -> Envelope:
        """Deliver an envelope to the newest open connection (waiting up to ``timeout`` for one)."""
        if type not in ENVELOPE_TYPES:
            raise ValueError(f"Slack sends no {type!r} envelopes (one of {sorted(ENVELOPE_TYPES)})")
        if accepts_response_payload is None:
            accepts_response_payload = ENVELOPE_TYPES[type] or payload.get("type") == "view_submission"
        envelope_id = str(uuid.uuid4())
        message: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": dict(payload),
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":
            message["retry_attempt"] = retry_attempt
            message["retry_reason"] = "" if retry_attempt == 0 else "timeout"
        deadline = time.monotonic() + timeout
        while True:
            link = self._target(deadline)
            envelope = Envelope(
                envelope_id, type, dict(payload), accepts_response_payload, link.number, time.time()
            )
            with self._lock:
                self._envelopes.append(envelope)
            try:
                link.websocket.send(json.dumps(message, separators=(",", ":")))
                return envelope
            except (OSError, ConnectionClosed):  # closed under us: Slack would use another connection
                with self._cond:
                    self._envelopes.remove(envelope)
                    link.open = False

    def _target(self, deadline: float) -> _Link:
        with self._cond:
            while True:
                live = [c for c in self._links if c.open and c.websocket.state is State.OPEN]
                ready = [c for c in live if not c.refreshing] or live
                if ready:
                    return ready[-1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("no Socket Mode connection is open: is the app connected?")
                self._cond.wait(min(remaining, 0.1))

    def wait_for_ack(self, envelope_id: str, timeout: float = 3.0) -> Ack | None:
        """The app's ack of that envelope, waiting up to ``timeout`` (Slack's limit is 3 s); None if none."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next((a for a in self._acks if a.envelope_id == envelope_id), None)
                remaining = deadline - time.monotonic()
                if found is not None or remaining <= 0:
                    return found
                self._cond.wait(min(remaining, 0.1))

    def wait_for_connections(self, count: int, timeout: float = 5.0) -> None:
        """Wait until ``count`` connections have been opened in all (closed ones count)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._links) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} Socket Mode connection(s) within {timeout}s, got {len(self._links)}"
                    )
                self._cond.wait(min(remaining, 0.1))

    def wait_until_closed(self, number: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._by_number(number).open:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"Socket Mode connection {number} is still open after {timeout}s")
                self._cond.wait(min(remaining, 0.1))

    def refresh(self, reason: str = "refresh_requested", close_after: float = 2.0) -> list[int]:
        """Tell every open connection to go away (Slack's ``disconnect`` message), and close those still
        open ``close_after`` seconds later.  Returns the numbers of the connections told."""
        told = []
        for link in self._live():
            link.refreshing = True
            with contextlib.suppress(OSError, ConnectionClosed):
                link.websocket.send(
                    json.dumps(
                        {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
                    )
                )
                told.append(link.number)
        timer = threading.Timer(close_after, self._close, args=(told, CLOSE_NORMAL))
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()
        return told

    def close_connections(self, code: int = CLOSE_GOING_AWAY) -> list[int]:
        """Close every open connection now with a close frame.  Returns their numbers."""
        numbers = [c.number for c in self._live()]
        self._close(numbers, code)
        return numbers

    def _close(self, numbers: list[int], code: int) -> None:
        for number in numbers:
            link = self._by_number(number)
            if link.open:
                # The closing handshake waits for the client's close frame (up to a second): not here.
                threading.Thread(target=link.websocket.close, args=(code,), daemon=True).start()

    def stop(self) -> None:
        """Drop every connection (the fake is stopping)."""
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        for link in self._live():
            closing = threading.Thread(target=link.websocket.close, args=(CLOSE_GOING_AWAY,), daemon=True)
            closing.start()
            closing.join(0.2)
            with contextlib.suppress(OSError):
                link.websocket.socket.shutdown(socket.SHUT_RDWR)

    # -------------------------------------------------------------- what tests read

    def envelopes(self) -> list[Envelope]:
        with self._lock:
            return list(self._envelopes)

    def acks(self) -> list[Ack]:
        with self._lock:
            return list(self._acks)

    def connections(self) -> list[dict[str, Any]]:
        """Each connection opened, oldest first: its number, whether it is open, the client's close code."""
        with self._lock:
            return [{"number": c.number, "open": c.open, "close_code": c.close_code} for c in self._links]

    def unexpected_messages(self) -> list[str]:
        """Text messages from the client that were not acks."""
        with self._lock:
            return list(self._unknown)

    def _live(self) -> list[_Link]:
        with self._lock:
            return [c for c in self._links if c.open]

    def _by_number(self, number: int) -> _Link:
        with self._lock:
            return next(c for c in self._links if c.number == number)


def _hello(live: int, app_id: str) -> dict[str, Any]:
    """Slack's first message on a new connection."""
    return {
        "type": "hello",
        "num_connections": live,
        "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
        "connection_info": {"app_id": app_id},
    }


class FakeSlackWithSocketMode(FakeSlack):
    """The fake Slack with Socket Mode (``fake.socket_mode``), as the tests' ``fake_slack`` fixture gives it."""

    def __init__(self, *, app_token: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.socket_mode = FakeSocketMode(self, app_token=app_token)

    def stop(self) -> None:
        self.socket_mode.stop()
        super().stop()


class SocketModeTransport:
    """Envelopes sent over the fake's Socket Mode WebSocket; the answer is the bot's ack.

    Nothing is signed in Socket Mode: the connection itself is authenticated by the app-level token.
    An envelope the bot does not ack within Slack's 3 seconds is a :class:`DriverError`.
    """

    def __init__(self, socket_mode: FakeSocketMode, ack_timeout: float | None = None) -> None:
        self.socket = socket_mode
        self.ack_timeout = slack_requests.SLACK_ACK_SECONDS if ack_timeout is None else ack_timeout

    def deliver(self, request: SignedRequest, kind: str) -> Answer:
        envelope = self.socket.send(kind, request.payload)
        ack = self.socket.wait_for_ack(envelope.envelope_id, timeout=self.ack_timeout)
        if ack is None:
            raise DriverError(
                f"the bot did not acknowledge the {kind} envelope within {self.ack_timeout:g}s "
                "(Slack would show the person an error)"
            )
        if ack.payload is None:
            return Answer(200, "")
        return Answer(200, json.dumps(ack.payload), "application/json")

    def close(self) -> None:
        pass


def driver_over_socket_mode(
    fake: FakeSlackWithSocketMode, *, team_id: str = "T0SIM", ack_timeout: float | None = None
) -> SlackDriver:
    """A driver that reaches the bot through the fake's Socket Mode (the bot must be connected)."""
    # The secret only signs requests, which Socket Mode does not carry: any value will do.
    transport = SocketModeTransport(fake.socket_mode, ack_timeout)
    return SlackDriver(fake, "unused-in-socket-mode", team_id=team_id, transport=transport)
