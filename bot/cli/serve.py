"""`bot run` and `bot tracker`: the long-running processes, and the checks that stop them early with one line
saying what to fix."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

from bot.config import ConfigError, Settings


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime import build_bot

    log = logging.getLogger("bot")
    simulator = None
    if args.simulate:
        from bot.simulator.local import serve_simulator, simulator_client

        settings.require("slack_bot_token", "slack_signing_secret")
        check_start(settings)
        simulator = serve_simulator(speed=args.speed)
        with starting():
            bot = build_bot(
                settings, provider=simulator_client(simulator, api=settings.together_api), simulated=True
            )
        log.info(
            "simulating Together at %s/v1 (%gx speed): no real endpoint is created", simulator.url, args.speed
        )
    else:
        settings.require("slack_bot_token", "slack_signing_secret", "together_api_key")
        check_start(settings)
        with starting():
            bot = build_bot(settings)
    bot.start(tracker=not args.no_tracker)
    operator_routes = None
    try:
        if settings.socket_mode:
            assert settings.slack_app_token is not None
            operator_routes = serve_operator_routes(bot, settings, settings.port)
            serve_socket_mode(bot.app, settings.slack_app_token.get_secret_value())
        else:
            from bot.server import serve

            log.info(
                "endpoint-bot listening on port %s (POST /slack/events; GET /healthz, /readyz, /metrics)",
                settings.port,
            )
            serve(
                bot.app,
                bot.store,
                port=settings.port,
                readiness=bot.readiness,
                multiprocess_dir=settings.prometheus_multiproc_dir,
            )
    finally:
        if operator_routes is not None:
            operator_routes.stop()
        bot.stop()
        if simulator is not None:
            simulator.stop()
    return 0


def check_start(settings: Settings) -> None:
    """Before anything starts: the database, the bot token and (Socket Mode) the app token, each as
    `bot doctor` checks them, so a wrong one stops `bot run` with one line saying what to do."""
    from bot.doctor import check_database, check_slack

    for run_check in (lambda: check_database(settings, migrated=False), lambda: check_slack(settings)):
        check = run_check()
        if not check.ok:
            raise ConfigError(f"{check.name}: {check.message}")
    check_socket_mode(settings)


@contextlib.contextmanager
def starting() -> Iterator[None]:
    """What can still fail while the bot is built after `check_start` passed (the network went away, the
    token was revoked in between) ends in one line too, not in a traceback."""
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError
    from sqlalchemy.exc import SQLAlchemyError

    from bot.store.db import DatabaseInUse

    try:
        yield
    except DatabaseInUse as exc:
        raise ConfigError(str(exc)) from None
    except (BoltError, SlackApiError) as exc:
        raise ConfigError(
            f"slack: Slack refused to start the app ({_first_line(exc)}): run `bot doctor`."
        ) from None
    except SQLAlchemyError as exc:
        raise ConfigError(
            f"database: cannot use DATABASE_URL ({type(exc).__name__}): run `bot doctor`."
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"could not reach Slack or Together while starting ({type(exc).__name__}): check the network, "
            "then run `bot doctor`."
        ) from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def serve_operator_routes(bot: Any, settings: Settings, port: int) -> Any:
    """GET /healthz, /readyz and /metrics on `port` in a background thread (Socket Mode, `bot tracker`)."""
    from bot.server import ServerThread

    try:
        server = ServerThread(
            None,
            bot.store,
            "0.0.0.0",
            port=port,
            readiness=bot.readiness,
            multiprocess_dir=settings.prometheus_multiproc_dir,
        ).start()
    except OSError as exc:
        raise ConfigError(
            f"cannot serve /metrics and the health routes on port {port}: {exc.strerror}"
        ) from None
    logging.getLogger("bot").info(
        "health and metrics on port %s (GET /healthz, /readyz, /metrics)", server.port
    )
    return server


def check_socket_mode(settings: Settings) -> None:
    """In Socket Mode, stop before anything starts when Slack will not take SLACK_APP_TOKEN, saying why."""
    if not settings.socket_mode:
        return
    from bot.doctor import check_app_token

    check = check_app_token(settings)
    if not check.ok:
        raise ConfigError(check.message)


def serve_socket_mode(app: Any, app_token: str) -> None:
    """Connect to Slack over Socket Mode and serve until Ctrl-C or SIGTERM; the client reconnects by itself
    when Slack recycles the connection."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    handler = SocketModeHandler(app, app_token)
    try:
        try:
            handler.connect()
        except SlackApiError as exc:  # the token was refused between the check and now
            error = exc.response.get("error") if exc.response is not None else None
            raise ConfigError(
                f"Slack refused SLACK_APP_TOKEN ({error or 'no reason given'}): run `bot doctor`."
            ) from None
        except OSError as exc:
            raise ConfigError(
                f"could not reach Slack to open a Socket Mode connection ({type(exc).__name__}): check the "
                "network and SLACK_API_URL."
            ) from None
        logging.getLogger("bot").info("endpoint-bot running in Socket Mode")
        wait_for_shutdown()
    finally:
        handler.close()


def wait_for_shutdown() -> None:
    """Block until Ctrl-C or SIGTERM (what a process manager sends to stop a worker)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass


def cmd_tracker(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.runtime import build_bot

    settings.require("slack_bot_token", "together_api_key")
    with starting():  # as `bot run`: what fails while it is built ends in one line
        bot = build_bot(settings, serves_slack=False)
    port = settings.bot_metrics_port
    operator_routes = serve_operator_routes(bot, settings, port) if port is not None else None
    bot.start(tracker=True)
    logging.getLogger("bot").info(
        "endpoint-bot worker: following endpoint states, launching approved requests and posting to Slack "
        "(%s)",
        "no HTTP" if port is None else f"metrics and health on port {port}",
    )
    try:
        wait_for_shutdown()
    finally:
        if operator_routes is not None:
            operator_routes.stop()
        bot.stop()
    return 0
