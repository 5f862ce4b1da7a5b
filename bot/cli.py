"""The `bot` command: run, tracker, shell, simulator, manifest, doctor, migrate, audit, spend, digest."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from bot.config import ConfigError, Settings, load_settings
from bot.logs import RedactSecrets as RedactSecrets  # re-exported: the filter lived here


def setup_logging(settings: Settings) -> None:
    from bot.logs import setup_logging as setup

    setup(settings.bot_log_level, settings.bot_log_format, settings.secret_values())


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime import build_bot

    log = logging.getLogger("bot")
    simulator = None
    if args.simulate:
        from bot.together.local import serve_simulator, simulator_client

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

    try:
        yield
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


def cmd_shell(settings: Settings, args: argparse.Namespace) -> int:
    from bot.shell.main import run_shell

    return run_shell(settings, speed=args.speed, user=args.user)


def cmd_simulator(_settings: Settings, args: argparse.Namespace) -> int:
    from bot.together.local import serve_simulator

    server = serve_simulator(
        speed=args.speed,
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        v1_create_enabled=not args.v1_create_disabled,
        latency=args.latency,
        latency_path=args.latency_on,
    )
    slow = (
        f"; answers {args.latency:g} s late" + (f" on {args.latency_on}" if args.latency_on != ".*" else "")
        if args.latency > 0
        else ""
    )
    key = "the key given with --api-key" if args.api_key else "any key"
    v1_note = " (v1 creation disabled, as on current accounts)" if args.v1_create_disabled else ""
    print(
        f"Together simulator: v1 API at {server.url}/v1{v1_note}, v2 API at "
        f"{server.url}/v2/projects/{server.sim.project_id} (whoami: {server.url}/v3/whoami); "
        f"{args.speed:g}x speed{slow}; send Authorization: Bearer <{key}>. Ctrl-C stops it.",
        flush=True,
    )
    try:
        wait_for_shutdown()
    finally:
        server.stop()
    return 0


def cmd_manifest(_settings: Settings, args: argparse.Namespace) -> int:
    from bot.manifest import PLACEHOLDER, ManifestError, render_manifest

    try:
        print(render_manifest(url=args.url, socket_mode=args.socket_mode), end="")
    except ManifestError as exc:
        print(f"bot manifest: {exc}", file=sys.stderr)
        return 2
    if not args.url and not args.socket_mode:  # on standard error: the manifest itself stays pasteable
        print(
            f"bot manifest: no --url given, so the Request URLs are the placeholder {PLACEHOLDER}. Give "
            "`--url https://<where bot run is reachable>`, or use --socket-mode if the bot has no public "
            "address.",
            file=sys.stderr,
        )
    return 0


def cmd_doctor(_settings: Settings | None, _args: argparse.Namespace) -> int:
    from bot.doctor import run_doctor

    return run_doctor()


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.store.db import make_engine, migrate

    migrate(make_engine(settings.database_url))
    print("Database is up to date.")
    return 0


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    from bot.audit import audit_json, audit_table
    from bot.store.db import make_engine, migrate
    from bot.store.store import Store

    if not _has_record(settings, table=not args.json):
        if args.json:
            print("[]")
        return 0
    engine = make_engine(settings.database_url)
    migrate(engine)
    store = Store(engine)
    print(audit_json(store) if args.json else audit_table(store))
    return 0


def _has_record(settings: Settings, *, table: bool) -> bool:
    """False, having said so, when the database does not exist yet: a reading command does not create it.

    The message goes to standard output for a person, to standard error beside `--json` (which then
    prints an empty result, so that scripts read the same shape either way).
    """
    from sqlalchemy.engine import make_url

    from bot.store.db import has_record

    if has_record(settings.database_url):
        return True
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    print(
        f"No record yet: the bot has not used {shown} (it keeps its record there from the first `bot run`, "
        "`bot shell` or `bot migrate`). Set DATABASE_URL to read another database.",
        file=sys.stdout if table else sys.stderr,
    )
    return False


def cmd_spend(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from bot.audit import spend_rows, spend_table
    from bot.domain.catalog import Catalog
    from bot.domain.clock import utcnow
    from bot.domain.cost.spend import Costs, spend_report
    from bot.domain.names import display_name
    from bot.store.db import make_engine, migrate
    from bot.store.store import Store

    if not _has_record(settings, table=not args.json):
        if not args.json:
            return 0
        url = "sqlite://"  # nothing recorded: the same empty report, from an empty database in memory
    else:
        url = settings.database_url
    engine = make_engine(url)
    migrate(engine)
    store = Store(engine)
    catalog = Catalog.load(settings.bot_catalog)
    if args.month or args.by or args.csv or args.chart:
        return _spend_view(settings, args, store, catalog)
    report = spend_report(
        Costs(store, utcnow),
        store.requests(),
        timedelta(days=args.days or 7),
        lambda r: display_name(r, catalog),
    )
    print(json.dumps(spend_rows(report), indent=2) if args.json else spend_table(report))
    return 0


def _spend_view(settings: Settings, args: argparse.Namespace, store: Any, catalog: Any) -> int:
    """`bot spend --by …`, `--month`, `--csv`, `--chart`: the breakdown, its CSV and its chart."""
    from datetime import timedelta
    from pathlib import Path

    from bot.audit import spend_view_rows, spend_view_table
    from bot.domain.clock import utcnow
    from bot.domain.cost.spend import Costs
    from bot.domain.cost.spend_views import SpendViews, parse_month, rolling_window
    from bot.domain.errors import UserError
    from bot.domain.names import display_name
    from bot.policy_file import policy_from_settings
    from bot.spend_files import spend_chart, spend_csv

    policy = policy_from_settings(settings, catalog)
    views = SpendViews(
        Costs(store, utcnow), lambda r: display_name(r, catalog), policy.budgets, settings.timezone
    )
    try:
        if args.month:
            window = parse_month(args.month, views.now(), views.tz)
        else:
            days = args.days or 7
            window = rolling_window(timedelta(days=days), views.now(), f"the last {days} days")
        view = views.view(window, args.by or "person")
    except UserError as exc:
        print(f"bot spend: {exc.message}", file=sys.stderr)
        return 2
    if args.chart:
        path = Path(args.chart)
        try:
            path.write_bytes(spend_chart(view, lambda key: views.label(view, key)))
        except OSError as exc:
            print(f"bot spend: could not write the chart to {path}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"Chart written to {path.resolve()}", file=sys.stderr if args.csv or args.json else sys.stdout)
    if args.csv:
        sys.stdout.write(spend_csv(view))
    elif args.json:
        print(json.dumps(spend_view_rows(view), indent=2))
    elif args.by or args.month or not args.chart:
        print(spend_view_table(view, lambda key: views.label(view, key)))
    return 0


def cmd_digest(settings: Settings, args: argparse.Namespace) -> int:
    """`bot digest --now`: the weekly spend digest for the seven days up to now, posted at once."""
    from slack_sdk.errors import SlackApiError

    from bot.domain.catalog import Catalog
    from bot.domain.clock import utcnow
    from bot.domain.cost.spend import Costs
    from bot.domain.cost.spend_views import SpendViews
    from bot.domain.names import display_name
    from bot.policy_file import policy_from_settings
    from bot.slack.app import make_web_client
    from bot.slack.digest import DigestPoster
    from bot.store.db import make_engine, migrate
    from bot.store.store import Store

    if not args.now:
        print(
            "bot digest: say `bot digest --now` to post it now; `bot run` and `bot tracker` post it every "
            "Monday at 09:00 (BOT_TIMEZONE) when BOT_DIGEST_CHANNEL is set.",
            file=sys.stderr,
        )
        return 2
    settings.require("slack_bot_token", "bot_digest_channel")
    assert settings.slack_bot_token is not None and settings.bot_digest_channel is not None
    engine = make_engine(settings.database_url)
    migrate(engine)
    store = Store(engine)
    catalog = Catalog.load(settings.bot_catalog)
    policy = policy_from_settings(settings, catalog)
    views = SpendViews(
        Costs(store, utcnow), lambda r: display_name(r, catalog), policy.budgets, settings.timezone
    )
    client = make_web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    poster = DigestPoster(store, views, client, settings.bot_digest_channel)
    try:
        chart = poster.post_now()
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else None
        print(
            f"bot digest: Slack refused it ({error or 'no reason given'}). The app needs the files:write "
            "scope, and to be in the channel if it is private: run `bot doctor`.",
            file=sys.stderr,
        )
        return 1
    print(f"Posted the spend digest to {settings.bot_digest_channel} (chart: file {chart}).")
    return 0


def _days(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 3660:
        raise argparse.ArgumentTypeError(f"{value!r}: give a whole number of days, 1 or more (e.g. 30)")
    return int(value)


def cmd_policy_check(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.domain.catalog import Catalog
    from bot.domain.errors import UserError
    from bot.policy_file import PolicyFileError, load_policy, summary

    path = Path(args.file) if args.file else settings.bot_policy_file
    if path is None:
        print(
            "bot policy check: name the file (`bot policy check policy.toml`) or set BOT_POLICY_FILE.",
            file=sys.stderr,
        )
        return 2
    try:
        catalog = Catalog.load(settings.bot_catalog)
        policy = load_policy(path, catalog=catalog, approvers=settings.approvers, admins=settings.admins)
    except PolicyFileError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except UserError as exc:  # BOT_CATALOG, which the policy's aliases resolve against
        print(f"bot policy check: {exc.message}", file=sys.stderr)
        return 2
    print(f"Policy file {path} is valid.")
    if settings.approvers or settings.admins:
        print("BOT_APPROVERS and BOT_ADMINS from the environment are added to its approvers and admins.")
    print()
    print(summary(policy))
    return 0


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return number


def _not_negative(value: str) -> float:
    number = float(value)
    if number < 0:
        raise argparse.ArgumentTypeError("can't be negative")
    return number


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a regular expression: {exc}") from None
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bot", description="endpoint-bot: Together AI dedicated endpoints from Slack."
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    shell = sub.add_parser(
        "shell", help="try the whole bot in the terminal: a pretend Slack and a simulated Together"
    )
    shell.add_argument("--user", default="you", help="who you are at the start (default: you)")
    shell.add_argument(
        "--speed",
        type=_positive,
        default=60.0,
        help="how much faster simulated time runs (default 60: an endpoint starts in about 4 seconds)",
    )
    shell.set_defaults(func=cmd_shell)

    run = sub.add_parser(
        "run", help="serve Slack (HTTP, or Socket Mode when SLACK_APP_TOKEN is set) and track endpoints"
    )
    run.add_argument(
        "--no-tracker",
        action="store_true",
        help="do not follow endpoint states in this process (run `bot tracker` beside it)",
    )
    run.add_argument(
        "--simulate",
        action="store_true",
        help="use the built-in Together simulator instead of Together (no TOGETHER_API_KEY, nothing billed)",
    )
    run.add_argument(
        "--speed",
        type=_positive,
        default=10.0,
        help="with --simulate: how much faster simulated time runs (default 10)",
    )
    run.set_defaults(func=cmd_run)

    tracker = sub.add_parser(
        "tracker", help="follow endpoint states, launch approved requests and post updates, without HTTP"
    )
    tracker.set_defaults(func=cmd_tracker)

    simulator = sub.add_parser("simulator", help="serve the Together API simulator alone (v1 and v2)")
    simulator.add_argument("--port", type=int, default=8090, help="port (default 8090; 0 picks a free one)")
    simulator.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    simulator.add_argument(
        "--api-key", default=None, help="accept only this bearer key (default: any non-empty key)"
    )
    simulator.add_argument(
        "--speed", type=_positive, default=1.0, help="how much faster simulated time runs (default 1)"
    )
    simulator.add_argument(
        "--latency",
        type=_not_negative,
        default=0.0,
        metavar="SECONDS",
        help="answer every request this many seconds late, as a slow Together does (default 0)",
    )
    simulator.add_argument(
        "--latency-on",
        type=_regex,
        default=".*",
        metavar="REGEX",
        help="with --latency: only paths matching this regex, e.g. '/v1/hardware' (default: all)",
    )
    simulator.add_argument(
        "--v1-create-disabled",
        action="store_true",
        help="answer v1 creation (and v1 restarts) with 403 endpoints_v1_create_access_disabled, as Together does now",
    )
    simulator.set_defaults(func=cmd_simulator)

    manifest = sub.add_parser("manifest", help="print the Slack app manifest, filled in")
    manifest.add_argument(
        "--url", help="where `bot run` is reachable, e.g. https://bot.example.com (HTTP mode)"
    )
    manifest.add_argument(
        "--socket-mode", action="store_true", help="print the Socket Mode variant (no public URL needed)"
    )
    manifest.set_defaults(func=cmd_manifest)

    doctor = sub.add_parser(
        "doctor", help="check the settings, the Slack token, the Together key and the database"
    )
    doctor.set_defaults(func=cmd_doctor, loads_settings=True)

    policy = sub.add_parser("policy", help="the policy file (BOT_POLICY_FILE)")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True, metavar="COMMAND")
    check = policy_sub.add_parser(
        "check", help="validate a policy file and print what it says (groups, tiers, limits, expiry)"
    )
    check.add_argument("file", nargs="?", help="the TOML file (default: BOT_POLICY_FILE)")
    check.set_defaults(func=cmd_policy_check)

    mig = sub.add_parser("migrate", help="apply database migrations and exit")
    mig.set_defaults(func=cmd_migrate)
    audit = sub.add_parser("audit", help="print who requested, approved, rejected and launched what")
    audit.add_argument("--json", action="store_true", help="one JSON object per launch request")
    audit.set_defaults(func=cmd_audit)
    spend = sub.add_parser(
        "spend", help="what endpoints cost, by endpoint and by person, over the last N days"
    )
    when = spend.add_mutually_exclusive_group()
    when.add_argument("--days", type=_days, default=None, help="how many days back (default 7)")
    when.add_argument("--month", help="one calendar month in BOT_TIMEZONE, as YYYY-MM (e.g. 2026-11)")
    spend.add_argument(
        "--by",
        choices=("person", "channel", "model", "hardware", "endpoint"),
        help="break the cost down by this (the chart's bars too; default person)",
    )
    out = spend.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="as one JSON object")
    out.add_argument(
        "--csv", action="store_true", help="one row per endpoint per day, as CSV on standard output"
    )
    spend.add_argument("--chart", metavar="FILE", help="also write the chart as a PNG to FILE")
    spend.set_defaults(func=cmd_spend)
    digest = sub.add_parser("digest", help="the weekly spend digest (BOT_DIGEST_CHANNEL)")
    digest.add_argument("--now", action="store_true", help="post it now, for the seven days up to now")
    digest.set_defaults(func=cmd_digest)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here for output still buffered
    except BrokenPipeError:
        return _reader_left()
    return code


def _reader_left() -> int:
    """The reader of our output went away (`bot spend | head -1`): nothing is wrong, and nothing to say.

    Standard output is pointed at /dev/null so that the flush at interpreter exit does not fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def _main(argv: Sequence[str] | None) -> int:
    commands = parser()
    args = commands.parse_args(argv)
    if args.command is None:  # `bot` alone: what it can do, not an error
        commands.print_help()
        return 0
    if getattr(args, "loads_settings", False):  # reports bad settings itself, as one of its checks
        try:
            return int(args.func(None, args))
        except KeyboardInterrupt:
            return 130
    try:
        settings = load_settings()
        setup_logging(settings)
        return int(args.func(settings, args))
    except ConfigError as exc:
        print(f"bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
