"""Fixtures: the Together simulator, the fake Slack, a database (SQLite and PostgreSQL), the whole bot."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from bot.config import Settings, load_settings
from bot.runtime import Bot, build_bot
from bot.server import ServerThread
from bot.slack.app import make_web_client
from bot.testing.driver import SlackDriver
from bot.testing.fake_slack import FakeSlack
from bot.together.client import TogetherClient
from bot.together.simulator import ManualClock, SimulatorServer, TogetherSimulator

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-bot-token-42"
TOGETHER_KEY = "tk-test-together-key-0123456789"
REQUESTER = "UREQUESTER"
APPROVER = "UAPPROVER1"
APPROVER_2 = "UAPPROVER2"
BYSTANDER = "UBYSTANDER"
ADMIN = "UADMIN"
CHANNEL = "C0LAUNCH"

PG_ROOT = os.environ.get("BOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASES = [
    d.strip() for d in os.environ.get("BOT_TEST_DATABASES", "sqlite,postgresql").split(",") if d.strip()
]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot reads settings from the environment; the developer's own must not leak into tests."""
    for key in list(os.environ):
        if (
            key.startswith(("SLACK_", "TOGETHER_", "BOT_"))
            and not key.startswith("BOT_TEST_")
            or key in ("DATABASE_URL", "PORT")
        ):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    with pg_schema("t_") as url:
        yield url


@contextmanager
def pg_schema(prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one test; yields a URL whose connections use it."""
    schema = prefix + uuid.uuid4().hex[:12]
    admin = create_engine(PG_ROOT)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_ROOT}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> TogetherSimulator:
    return TogetherSimulator(clock=clock, api_key=TOGETHER_KEY)


@pytest.fixture
def sim_server(sim: TogetherSimulator) -> Iterator[SimulatorServer]:
    with SimulatorServer(sim) as server:
        yield server


@pytest.fixture
def together(sim_server: SimulatorServer) -> Iterator[TogetherClient]:
    client = TogetherClient(
        sim_server.url + "/v1", TOGETHER_KEY, backoff_base=0.01, backoff_cap=0.05, timeout=5
    )
    yield client
    client.close()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        yield fake


def make_settings(
    database_url: str, fake_slack: FakeSlack, sim_server: SimulatorServer, **extra: object
) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake_slack.base_url,
        "together_api_key": TOGETHER_KEY,
        "together_base_url": sim_server.url + "/v1",
        "database_url": database_url,
        "bot_approvers": f"{APPROVER},{APPROVER_2}",
        "bot_admins": ADMIN,
        "bot_poll_seconds": 0.05,
    }
    values.update(extra)
    return load_settings(**values)


@dataclass
class Stack:
    """The bot serving HTTP on a local port, wired to the fake Slack and the Together simulator."""

    bot: Bot
    server: ServerThread
    slack: SlackDriver
    fake: FakeSlack
    sim: TogetherSimulator
    clock: ManualClock

    def settle(self, rounds: int = 2) -> None:
        for _ in range(rounds):
            self.bot.settle()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.settle()

    def creates(self) -> int:
        return sum(
            1 for r in self.sim.requests if r.method == "POST" and r.path.rstrip("/") == "/v1/endpoints"
        )

    def card(self):  # type: ignore[no-untyped-def]
        messages = self.fake.messages(CHANNEL)
        assert len(messages) == 1, [m.text for m in messages]
        return messages[0]

    def thread(self) -> list[str]:
        return [m.text for m in self.fake.replies(CHANNEL, self.card().ts)]

    def ephemeral_texts(self, user: str) -> list[str]:
        return [m.text for m in self.fake.ephemerals(user)]


def start_stack(
    database_url: str,
    fake_slack: FakeSlack,
    sim: TogetherSimulator,
    sim_server: SimulatorServer,
    together: TogetherClient,
    clock: ManualClock,
    **settings: object,
) -> Stack:
    config = make_settings(database_url, fake_slack, sim_server, **settings)
    bot = build_bot(config, provider=together, client=make_web_client(BOT_TOKEN, fake_slack.base_url))
    # Retries keep their logic but not their real waiting: tests must stay fast.
    bot.publisher.base_delay = 0.01
    bot.launches.sleep = lambda _seconds: None
    server = ServerThread(bot.app, bot.store).start()
    driver = SlackDriver(fake_slack, SIGNING_SECRET, server.url + "/slack/events")
    return Stack(bot, server, driver, fake_slack, sim, clock)


@pytest.fixture
def stack(database_url, fake_slack, sim, sim_server, together, clock) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    s = start_stack(database_url, fake_slack, sim, sim_server, together, clock)
    yield s
    s.bot.stop()
    s.server.stop()
    s.slack.close()
    s.bot.store.engine.dispose()
