"""The pretend Slack's HTTP side: a stdlib server that decodes requests and hands them to the fake.

Web API calls (``/api/<method>``), response_url POSTs (``/respond/<tag>``) and file uploads go to a
:class:`SlackEndpoints` (a :class:`~bot.sandbox.fake_slack.FakeSlack`); a GET the fake has an upgrade
handler for (a WebSocket, say) is handed over with its socket.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

UPLOAD_PATH = "/upload/v1/"


class Reply:
    """What the HTTP layer sends back."""

    def __init__(
        self, status: int, body: Any, headers: dict[str, str] | None = None, problems: list[str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.problems = problems or []


#: Params that slack_sdk JSON-encodes into a string when it sends a form-encoded body.
JSON_PARAMS = ("blocks", "view", "attachments", "metadata")


def decode_json_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as Slack reads them: the JSON-encoded ones (``blocks``, ``view``...) decoded."""
    out = dict(params)
    for key in JSON_PARAMS:
        value = out.get(key)
        if isinstance(value, str) and value.strip():
            with contextlib.suppress(ValueError):
                out[key] = json.loads(value)
    return out


#: Handles a GET that asks to switch protocols; it owns the connection until it returns.
UpgradeHandler = Callable[[BaseHTTPRequestHandler], None]


class SlackEndpoints(Protocol):
    """What the server hands each request to."""

    def handle_api(self, method: str, params: dict[str, Any], headers: Mapping[str, str]) -> Reply: ...

    def handle_response_url(self, tag: str, payload: Any, headers: Mapping[str, str]) -> Reply: ...

    def handle_upload(self, ticket: str, data: bytes) -> tuple[int, str]: ...

    def upgrade_handler(self, path: str) -> UpgradeHandler | None: ...


class SlackHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: SlackEndpoints


def make_server(fake: SlackEndpoints, port: int = 0) -> SlackHttpServer:
    """A server on 127.0.0.1 (``port`` 0: any free one) for ``fake``; run its ``serve_forever`` in a thread."""
    server = SlackHttpServer(("127.0.0.1", port), _Handler)
    server.fake = fake
    return server


class _Handler(BaseHTTPRequestHandler):
    server: SlackHttpServer
    server_version = "FakeSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        upgrade = self.server.fake.upgrade_handler(url.path)
        if upgrade is not None:
            self.close_connection = True
            upgrade(self)
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
            params.update(parse_body(raw, content_type))
            reply = fake.handle_api(method, params, headers)
            self._send(reply.status, json.dumps(reply.body), "application/json; charset=utf-8", reply.headers)
        elif url.path.startswith(UPLOAD_PATH):  # the bytes of a file, to the URL getUploadURLExternal gave
            status, body = fake.handle_upload(url.path[len(UPLOAD_PATH) :], raw)
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


def parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """A request body as params: JSON, multipart (a file part as its name and size) or form-encoded."""
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
