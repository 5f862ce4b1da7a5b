"""What both benchmarks share: a scratch database, the bot wired to the fakes, percentiles and tables."""

from __future__ import annotations

import argparse
import logging
import math
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import load_settings
from bot.runtime import Bot, build_bot
from bot.sandbox.fake_slack import FakeSlack
from bot.simulator.clock import ManualClock
from bot.simulator.core import TogetherSimulator
from bot.simulator.server import SimulatorServer
from bot.slack.app import make_web_client
from bot.together.v1.client import TogetherClient
from bot.together.v2.client import TogetherV2Client

SIGNING_SECRET = "bench-signing-secret-0123456789"
BOT_TOKEN = "xoxb-bench-bot-token-42"
TOGETHER_KEY = "tk-bench-together-key-0123456789"
REQUESTER = "UBENCHREQ"
APPROVER = "UBENCHAPPROVER"
CHANNEL = "C0BENCH"
TEAM = "T0SIM"  # the team the driver's signed requests come from
BACKENDS = ("v1", "v2")


def quiet_logging() -> None:
    """The bot logs every launch and retry at INFO; a benchmark prints its own figures only."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def positive_ints(text_value: str) -> list[int]:
    """`1,10,100` -> [1, 10, 100] (argparse type for size lists)."""
    try:
        values = [int(part) for part in text_value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of whole numbers: {text_value!r}"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"give one or more numbers of 1 or more: {text_value!r}")
    return values


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0-100): a value that was actually measured."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def whole_number(minimum: int) -> Callable[[str], int]:
    """argparse type: a whole number of at least `minimum`."""

    def parse(text_value: str) -> int:
        try:
            value = int(text_value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text_value!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more: {text_value!r}")
        return value

    return parse


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 1) -> str:
    """A plain-text table, numbers right-aligned; floats with `digits` decimals."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "-" if math.isnan(value) else f"{value:.{digits}f}"
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [
        all(isinstance(row[i], int | float) for row in rows) if rows else False for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


# --- databases ----------------------------------------------------------------------------------


@contextmanager
def scratch_database(url: str | None) -> Iterator[str]:
    """A database to throw away: SQLite in a temporary folder (url None), or a new schema in the
    PostgreSQL database `url`, dropped afterwards."""
    if url is None:
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(
            f"--database takes a PostgreSQL URL (got {parsed.get_backend_name()}); leave it out for SQLite"
        )
    schema = "bench_" + uuid.uuid4().hex[:12]
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            separator = "&" if "?" in url else "?"
            yield f"{url}{separator}options=-csearch_path%3D{schema}"
        finally:
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()


def database_label(url: str | None) -> str:
    return "sqlite" if url is None else "postgresql"


# --- the bot on the fakes -------------------------------------------------------------------------


@dataclass
class Simulated:
    """The bot built as `bot run` builds it, talking to the fake Slack and the Together simulator."""

    bot: Bot
    sim: TogetherSimulator
    clock: ManualClock
    sim_server: SimulatorServer
    provider: TogetherClient | TogetherV2Client
    backend: str


def make_provider(
    backend: str, sim: TogetherSimulator, base_url: str, clock: ManualClock, **kwargs: Any
) -> TogetherClient | TogetherV2Client:
    """A Together client for `backend` at `base_url` (the simulator's root); kwargs go to the client."""
    options: dict[str, Any] = {"backoff_base": 0.01, "backoff_cap": 0.05, "timeout": 10, **kwargs}
    if backend == "v1":
        return TogetherClient(base_url + "/v1", TOGETHER_KEY, **options)
    if backend == "v2":
        return TogetherV2Client(
            base_url, TOGETHER_KEY, sim.project_id, sleep=clock.advance, stop_poll=5, **options
        )
    raise ValueError(f"unknown backend {backend!r}; use v1 or v2")


@contextmanager
def simulated_bot(
    database_url: str, fake: FakeSlack, backend: str = "v1", **settings: object
) -> Iterator[Simulated]:
    """The whole bot (not started: no loops run) on `database_url`, a fresh simulator on a manual clock,
    served over HTTP, and `fake` as Slack. Everything is closed on the way out."""
    clock = ManualClock()
    sim = TogetherSimulator(clock=clock, api_key=TOGETHER_KEY)
    with SimulatorServer(sim) as sim_server:
        values: dict[str, object] = {
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": fake.base_url,
            "together_api_key": TOGETHER_KEY,
            "together_base_url": sim_server.url + "/v1",
            "database_url": database_url,
            "bot_approvers": APPROVER,
        }
        if backend == "v2":
            values.update(together_api="v2", together_project_id=sim.project_id)
        values.update(settings)
        provider = make_provider(backend, sim, sim_server.url, clock)
        bot = build_bot(
            load_settings(**values), provider=provider, client=make_web_client(BOT_TOKEN, fake.base_url)
        )
        try:
            yield Simulated(bot, sim, clock, sim_server, provider, backend)
        finally:
            bot.stop()
            bot.store.engine.dispose()
            provider.close()
