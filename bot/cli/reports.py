"""`bot audit`, `bot spend` and `bot digest`: what the bot's record says, read from the database."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from bot.config import Settings

if TYPE_CHECKING:
    from bot.domain.catalog import Catalog
    from bot.domain.cost.spend_views import SpendViews
    from bot.store import Store


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    from bot.audit import audit_json, audit_table

    if not _has_record(settings, table=not args.json):
        if args.json:
            print("[]")
        return 0
    store = _open_store(settings.database_url)
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


def _open_store(url: str) -> Store:
    """The store at `url`, its schema brought up to date first."""
    from bot.store import Store
    from bot.store.db import make_engine, migrate

    engine = make_engine(url)
    migrate(engine)
    return Store(engine)


def _spend_views(settings: Settings, store: Store, catalog: Catalog) -> SpendViews:
    """Spend as the policy's budgets and BOT_TIMEZONE see it (`bot spend --by/--month`, `bot digest`)."""
    from bot.domain.clock import utcnow
    from bot.domain.cost.spend import Costs
    from bot.domain.cost.spend_views import SpendViews
    from bot.domain.names import display_name
    from bot.policy_file import policy_from_settings

    policy = policy_from_settings(settings, catalog)
    return SpendViews(
        Costs(store, utcnow), lambda r: display_name(r, catalog), policy.budgets, settings.timezone
    )


def cmd_spend(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from bot.audit import spend_rows, spend_table
    from bot.domain.catalog import Catalog
    from bot.domain.clock import utcnow
    from bot.domain.cost.spend import Costs, spend_report
    from bot.domain.names import display_name

    if not _has_record(settings, table=not args.json):
        if not args.json:
            return 0
        url = "sqlite://"  # nothing recorded: the same empty report, from an empty database in memory
    else:
        url = settings.database_url
    store = _open_store(url)
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


def _spend_view(settings: Settings, args: argparse.Namespace, store: Store, catalog: Catalog) -> int:
    """`bot spend --by …`, `--month`, `--csv`, `--chart`: the breakdown, its CSV and its chart."""
    from datetime import timedelta
    from pathlib import Path

    from bot.audit import spend_view_rows, spend_view_table
    from bot.domain.cost.spend_views import parse_month, rolling_window
    from bot.domain.errors import UserError
    from bot.slack.views.spend_files import spend_chart, spend_csv

    views = _spend_views(settings, store, catalog)
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
    from bot.slack.app import make_web_client
    from bot.slack.digest import DigestPoster

    if not args.now:
        print(
            "bot digest: say `bot digest --now` to post it now; `bot run` and `bot tracker` post it every "
            "Monday at 09:00 (BOT_TIMEZONE) when BOT_DIGEST_CHANNEL is set.",
            file=sys.stderr,
        )
        return 2
    settings.require("slack_bot_token", "bot_digest_channel")
    assert settings.slack_bot_token is not None and settings.bot_digest_channel is not None
    store = _open_store(settings.database_url)
    views = _spend_views(settings, store, Catalog.load(settings.bot_catalog))
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
