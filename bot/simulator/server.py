"""The simulator's fronts: `SimulatorServer` serves a `TogetherSimulator` over real HTTP from a daemon thread;
`SimulatorTransport` plugs it into httpx directly, without sockets."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from bot.simulator.core import TogetherSimulator

log = logging.getLogger(__name__)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    sim: TogetherSimulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout tests) leaves a broken pipe behind; that is not news.
        log.debug("simulator connection from %s ended abruptly", client_address, exc_info=True)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffer the response and send it in one go: headers and body written apart meet Nagle's
    # algorithm and delayed ACKs, which cost ~40 ms per request.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _HttpServer

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        status, headers, payload = self.server.sim.handle(
            self.command, parts.path, query, dict(self.headers.items()), body
        )
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if status != 204:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulator: " + format, *args)


class SimulatorServer:
    """Serves a `TogetherSimulator` over HTTP from a daemon thread; `.url` is the API root."""

    def __init__(self, sim: TogetherSimulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self._host = host
        self._port = port
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator server is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SimulatorServer:
        if self._server is not None:
            return self
        server = _HttpServer((self._host, self._port), _RequestHandler)
        server.sim = self.sim
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="together-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SimulatorTransport(httpx.BaseTransport):
    """An httpx transport that hands requests straight to a simulator, without sockets.

    `delay` faults block the caller instead of causing a client timeout; use `SimulatorServer`
    to exercise timeouts.
    """

    def __init__(self, sim: TogetherSimulator) -> None:
        self.sim = sim

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params.multi_items())
        status, headers, body = self.sim.handle(
            request.method,
            request.url.raw_path.decode("ascii").split("?", 1)[0],
            query,
            dict(request.headers),
            request.read(),
        )
        return httpx.Response(status, headers=headers, content=body, request=request)
