"""Slack's Socket Mode, played locally: ``apps.connections.open`` and the WebSocket it hands out.

:class:`FakeSocketMode` belongs to a :class:`~bot.sandbox.fake_slack.FakeSlack` (``fake.socket_mode``) and
serves on the fake's own port, so a Socket Mode client pointed at the fake's Web API finds everything:

``apps.connections.open``
    Wants an app-level token (``xapp-…``) in the ``Authorization`` header, as Slack does.  No token is
    ``not_authed``; a token sent only as a POST parameter is ``invalid_auth`` (Slack refuses that for this
    method); a bot or user token is ``not_allowed_token_type``; an app token other than the one the fake
    was given is ``invalid_auth``.  Success answers ``{"ok": true, "url": "ws://127.0.0.1:<port>/link/?
    ticket=…&app_id=…"}``; each ticket opens one connection.

``GET /link/?ticket=…`` with ``Upgrade: websocket``
    An RFC 6455 server written on the standard library: the opening handshake (``Sec-WebSocket-Accept``),
    masked client frames (unmasked ones are a protocol error, 1002), unmasked server frames, text frames,
    fragmented messages, ping/pong and the closing handshake.  On connect it sends Slack's ``hello``.

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

import base64
import contextlib
import hashlib
import io
import itertools
import json
import secrets
import socket
import struct
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs

__all__ = ["Ack", "Envelope", "FakeSocketMode", "accept_key"]

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_PROTOCOL_ERROR, CLOSE_UNSUPPORTED_DATA = 1000, 1001, 1002, 1003

#: Envelope types Slack sends over Socket Mode, and whether the app may answer with a payload by default.
ENVELOPE_TYPES = {"slash_commands": True, "interactive": False, "events_api": False}


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` a server answers to a client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1((key.strip() + WS_GUID).encode()).digest()).decode()


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


class _UpgradeRequest(Protocol):
    """The parts of a ``BaseHTTPRequestHandler`` the WebSocket upgrade uses."""

    command: str
    headers: Any
    rfile: io.BufferedIOBase
    wfile: Any
    connection: socket.socket
    close_connection: bool


class _ProtocolError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Connection:
    """The server side of one WebSocket connection."""

    def __init__(self, number: int, handler: _UpgradeRequest) -> None:
        self.number = number
        self.rfile = handler.rfile
        self.wfile = handler.wfile
        self.sock = handler.connection
        self.opened_at = time.time()
        self.send_lock = threading.Lock()
        self.open = True
        self.close_sent = False
        self.refreshing = False  # a disconnect message was sent: no more envelopes go here
        self.pings = 0
        self.pongs = 0
        self.close_code: int | None = None  # from the client's close frame, if it sent one

    # ---- writing (server frames are never masked)

    def send_frame(self, opcode: int, data: bytes = b"") -> None:
        header = bytes([0x80 | opcode])
        if len(data) < 126:
            header += bytes([len(data)])
        elif len(data) < 1 << 16:
            header += bytes([126]) + struct.pack("!H", len(data))
        else:
            header += bytes([127]) + struct.pack("!Q", len(data))
        with self.send_lock:
            if not self.open:
                raise ConnectionError(f"connection {self.number} is closed")
            self.wfile.write(header + data)
            with contextlib.suppress(AttributeError):
                self.wfile.flush()

    def send_json(self, message: Mapping[str, Any]) -> None:
        self.send_frame(OP_TEXT, json.dumps(message, separators=(",", ":")).encode())

    def send_close(self, code: int, reason: str = "") -> None:
        with self.send_lock:
            if self.close_sent or not self.open:
                return
            self.close_sent = True
        with contextlib.suppress(OSError, ConnectionError):
            data = struct.pack("!H", code) + reason.encode()[:120]
            header = bytes([0x80 | OP_CLOSE, len(data)])
            with self.send_lock:
                self.wfile.write(header + data)

    def drop(self) -> None:
        """Close the TCP connection (the read loop then ends)."""
        with self.send_lock:
            self.open = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    # ---- reading (client frames must be masked)

    def _read_exactly(self, n: int) -> bytes | None:
        data = self.rfile.read(n) if n else b""
        if n and (not data or len(data) < n):
            return None
        return data

    def read_frame(self) -> tuple[bool, int, bytes] | None:
        """(fin, opcode, unmasked payload), or None when the client went away."""
        head = self._read_exactly(2)
        if head is None:
            return None
        fin, rsv, opcode = bool(head[0] & 0x80), head[0] & 0x70, head[0] & 0x0F
        masked, length = bool(head[1] & 0x80), head[1] & 0x7F
        if rsv:
            raise _ProtocolError(CLOSE_PROTOCOL_ERROR, "reserved bits set without an extension")
        if not masked:
            raise _ProtocolError(CLOSE_PROTOCOL_ERROR, "client frames must be masked")
        if opcode >= 0x8 and (length > 125 or not fin):
            raise _ProtocolError(CLOSE_PROTOCOL_ERROR, "control frames must be short and unfragmented")
        if length == 126:
            more = self._read_exactly(2)
            if more is None:
                return None
            (length,) = struct.unpack("!H", more)
        elif length == 127:
            more = self._read_exactly(8)
            if more is None:
                return None
            (length,) = struct.unpack("!Q", more)
        mask = self._read_exactly(4)
        body = self._read_exactly(length)
        if mask is None or body is None:
            return None
        return fin, opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(body))


class FakeSocketMode:
    """Socket Mode for a :class:`~bot.sandbox.fake_slack.FakeSlack`.  See the module docstring."""

    def __init__(self, *, app_token: str | None, app_id: str, root_url: Any) -> None:
        self.app_token = app_token  # None: any xapp- token is accepted
        self.app_id = app_id
        self._root_url = root_url  # a callable: the fake's URL is known only once it is started
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._tickets: set[str] = set()
        self._connections: list[_Connection] = []
        self._numbers = itertools.count(1)
        self._envelopes: list[Envelope] = []
        self._acks: list[Ack] = []
        self._unknown: list[str] = []  # text frames that were not acks
        self._timers: list[threading.Timer] = []

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
        ws_root = str(self._root_url()).replace("http://", "ws://", 1)
        return {"ok": True, "url": f"{ws_root}link/?ticket={ticket}&app_id={self.app_id}"}

    # -------------------------------------------------------------- the WebSocket

    def serve(self, handler: _UpgradeRequest, query: str) -> None:
        """Run one connection on the handler's thread, from the opening handshake to the close."""
        handler.close_connection = True
        headers = {k.lower(): v for k, v in handler.headers.items()}
        ticket = (parse_qs(query).get("ticket") or [""])[0]
        key = headers.get("sec-websocket-key", "")
        problem = None
        if handler.command != "GET" or headers.get("upgrade", "").lower() != "websocket":
            problem = (400, "expected a WebSocket upgrade")
        elif "upgrade" not in headers.get("connection", "").lower():
            problem = (400, "expected Connection: Upgrade")
        elif headers.get("sec-websocket-version") != "13":
            problem = (426, "Sec-WebSocket-Version must be 13")
        elif not _valid_key(key):
            problem = (400, "Sec-WebSocket-Key must be 16 bytes in base64")
        else:
            with self._lock:
                if ticket not in self._tickets:
                    problem = (401, "unknown or used ticket: call apps.connections.open for a new URL")
                self._tickets.discard(ticket)
        if problem is not None:
            status, text = problem
            body = text.encode()
            handler.wfile.write(
                f"HTTP/1.1 {status} Refused\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            return
        handler.wfile.write(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
            ).encode()
        )
        with self._cond:
            connection = _Connection(next(self._numbers), handler)
            self._connections.append(connection)
            live = sum(1 for c in self._connections if c.open)
            self._cond.notify_all()
        try:
            connection.send_json(
                {
                    "type": "hello",
                    "num_connections": live,
                    "debug_info": {
                        "host": "applink-fake",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
            self._read_loop(connection)
        except (OSError, ConnectionError):
            pass
        finally:
            with self._cond:
                connection.open = False
                self._cond.notify_all()
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)

    def _read_loop(self, connection: _Connection) -> None:
        message: list[bytes] = []
        message_opcode: int | None = None
        while True:
            try:
                frame = connection.read_frame()
            except _ProtocolError as exc:
                connection.send_close(exc.code, exc.reason)
                return
            if frame is None:  # the client closed the TCP connection
                return
            fin, opcode, data = frame
            if opcode == OP_PING:
                connection.pings += 1
                connection.send_frame(OP_PONG, data)
            elif opcode == OP_PONG:
                connection.pongs += 1
            elif opcode == OP_CLOSE:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                connection.close_code = code
                connection.send_close(code if code is not None else CLOSE_NORMAL)  # the closing handshake
                return
            elif opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
                if opcode == OP_CONTINUATION:
                    if message_opcode is None:
                        connection.send_close(CLOSE_PROTOCOL_ERROR, "continuation without a message")
                        return
                elif message_opcode is not None:
                    connection.send_close(CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one")
                    return
                else:
                    message_opcode = opcode
                message.append(data)
                if not fin:
                    continue
                whole, kind = b"".join(message), message_opcode
                message, message_opcode = [], None
                if kind == OP_BINARY:
                    connection.send_close(CLOSE_UNSUPPORTED_DATA, "Socket Mode speaks JSON text")
                    return
                try:
                    text = whole.decode("utf-8")
                except UnicodeDecodeError:
                    connection.send_close(1007, "text frames must be UTF-8")
                    return
                self._received(connection, text)
            else:
                connection.send_close(CLOSE_PROTOCOL_ERROR, f"unknown opcode {opcode}")
                return

    def _received(self, connection: _Connection, text: str) -> None:
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
                        connection=connection.number,
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
            connection = self._target(deadline)
            envelope = Envelope(
                envelope_id, type, dict(payload), accepts_response_payload, connection.number, time.time()
            )
            with self._lock:
                self._envelopes.append(envelope)
            try:
                connection.send_json(message)
                return envelope
            except (OSError, ConnectionError):  # closed under us: Slack would use another connection
                with self._lock:
                    self._envelopes.remove(envelope)
                    connection.open = False

    def _target(self, deadline: float) -> _Connection:
        with self._cond:
            while True:
                live = [c for c in self._connections if c.open and not c.close_sent]
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
            while len(self._connections) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} Socket Mode connection(s) within {timeout}s, "
                        f"got {len(self._connections)}"
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
        for connection in self._live():
            connection.refreshing = True
            with contextlib.suppress(OSError, ConnectionError):
                connection.send_json(
                    {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
                )
                told.append(connection.number)
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
            connection = self._by_number(number)
            if connection.open:
                connection.send_close(code)
                # The client answers with its own close frame (or drops the socket); don't wait forever.
                timer = threading.Timer(1.0, connection.drop)
                timer.daemon = True
                timer.start()

    def stop(self) -> None:
        """Drop every connection (the fake is stopping)."""
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        for connection in self._live():
            connection.send_close(CLOSE_GOING_AWAY)
            connection.drop()

    # -------------------------------------------------------------- what tests read

    def envelopes(self) -> list[Envelope]:
        with self._lock:
            return list(self._envelopes)

    def acks(self) -> list[Ack]:
        with self._lock:
            return list(self._acks)

    def connections(self) -> list[dict[str, Any]]:
        """Each connection opened, oldest first: number, open, pings and pongs received, client's close code."""
        with self._lock:
            return [
                {
                    "number": c.number,
                    "open": c.open,
                    "pings": c.pings,
                    "pongs": c.pongs,
                    "close_code": c.close_code,
                }
                for c in self._connections
            ]

    def unexpected_messages(self) -> list[str]:
        """Text frames from the client that were not acks."""
        with self._lock:
            return list(self._unknown)

    def _live(self) -> list[_Connection]:
        with self._lock:
            return [c for c in self._connections if c.open]

    def _by_number(self, number: int) -> _Connection:
        with self._lock:
            return next(c for c in self._connections if c.number == number)


def _valid_key(key: str) -> bool:
    try:
        return len(base64.b64decode(key.strip(), validate=True)) == 16
    except ValueError:
        return False


def new_app_token() -> str:
    """An app-level token in Slack's shape, for tests."""
    return f"xapp-1-A0SIM-{int(time.time())}-{secrets.token_hex(16)}"
