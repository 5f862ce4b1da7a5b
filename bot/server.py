"""HTTP mode: Slack's requests at POST /slack/events; for operators GET /healthz (alive), GET /readyz
(ready: database migrated and Slack accepts the token) and GET /metrics (Prometheus).

`bot tracker` and Socket Mode serve the same operator routes without /slack/events (`make_asgi(None, ...)`).
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.exposition import exposition
from bot.readiness import Readiness
from bot.store.db import ping
from bot.store.gauges import GaugeQueries
from bot.store.store import Store

log = logging.getLogger(__name__)


def make_asgi(
    app: App | None,
    store: Store,
    *,
    readiness: Readiness | None = None,
    multiprocess_dir: Path | None = None,
) -> Starlette:
    gauges = GaugeQueries(store.engine)

    async def slack_events(request: Request) -> Response:
        assert app is not None
        body = await request.body()
        # Bolt's dispatch is synchronous; running it on the event loop would serialise Slack's requests.
        bolt_response = await run_in_threadpool(app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    async def healthz(_request: Request) -> Response:
        """Liveness: the process answers and reaches its database. Cheap enough to call every second."""
        try:
            await run_in_threadpool(ping, store.engine)
        except Exception as exc:
            return JSONResponse({"ok": False, "database": type(exc).__name__}, status_code=503)
        return JSONResponse({"ok": True, "database": "ok"})

    async def readyz(_request: Request) -> Response:
        if readiness is None:
            return JSONResponse({"ok": False, "problems": {"bot": "readiness is not wired"}}, status_code=503)
        problems = await run_in_threadpool(readiness.problems)
        if problems:
            return JSONResponse({"ok": False, "problems": problems}, status_code=503)
        return JSONResponse({"ok": True, "database": "ok", "slack": "ok"})

    async def metrics_route(_request: Request) -> Response:
        body, content_type = await run_in_threadpool(exposition, gauges, multiprocess_dir)
        return Response(body, media_type=content_type)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_route, methods=["GET"]),
    ]
    if app is not None:
        routes.insert(0, Route("/slack/events", slack_events, methods=["POST"]))
    return Starlette(routes=routes)


def serve(
    app: App | None,
    store: Store,
    *,
    host: str = "0.0.0.0",
    port: int = 3000,
    readiness: Readiness | None = None,
    multiprocess_dir: Path | None = None,
) -> None:
    asgi = make_asgi(app, store, readiness=readiness, multiprocess_dir=multiprocess_dir)
    uvicorn.run(asgi, host=host, port=port, log_level="warning", access_log=False)


class ServerThread:
    """The same server on a local port in a background thread (tests, the local shell, and the operator
    routes of `bot tracker` and Socket Mode)."""

    def __init__(
        self,
        app: App | None,
        store: Store,
        host: str = "127.0.0.1",
        *,
        port: int = 0,
        readiness: Readiness | None = None,
        multiprocess_dir: Path | None = None,
    ) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        asgi = make_asgi(app, store, readiness=readiness, multiprocess_dir=multiprocess_dir)
        config = uvicorn.Config(asgi, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> ServerThread:
        self._thread.start()
        for _ in range(500):
            if self._server.started:
                return self
            threading.Event().wait(0.01)
        raise RuntimeError("the bot's HTTP server did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)
        self._socket.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
