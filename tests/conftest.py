"""Fixtures: the Together simulator, the fake Slack, a database (SQLite and PostgreSQL), the whole bot."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bot.sandbox import slack_requests
from bot.simulator.clock import ManualClock
from bot.simulator.core import TogetherSimulator
from bot.simulator.server import SimulatorServer
from bot.together.v1.client import TogetherClient
from tests.support.backends import BACKEND_BY_NAME, BACKENDS, Backend
from tests.support.databases import DATABASES, pg_schema
from tests.support.socket_mode import FakeSlackWithSocketMode
from tests.support.stack import (
    APP_TOKEN,
    BOT_TOKEN,
    TOGETHER_KEY,
    Stack,
    assert_nothing_refused,
    provider_for,
    start_stack,
)

# Slack's 3 seconds for an answer hold in every test; a machine too loaded to keep time may allow more.
slack_requests.SLACK_ACK_SECONDS = float(
    os.environ.get("BOT_TEST_ACK_SECONDS", slack_requests.SLACK_ACK_SECONDS)
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        default=False,
        help="write the rendered Slack surfaces to tests/slack/snapshots/ instead of comparing with them",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "backend(name, reason=...): run this stack test on one Together API only, and say why",
    )
    config.addinivalue_line(
        "markers",
        "database(name, reason=...): run this stack test on one database only, and say why",
    )


# Stack tests run each database and each API once: PostgreSQL (the multi-process setup) with v1, SQLite
# (the embedded default) with v2. What differs by database (locks, concurrency, migrations) and what
# differs by API (paths, bodies, states) is each covered; pairs are independent. BOT_TEST_MATRIX=full runs
# every pair, as a nightly or a release check would.
PAIRS = [("postgresql", "v1"), ("sqlite", "v2")]
FULL_MATRIX = [("sqlite", "v1"), ("postgresql", "v1"), ("sqlite", "v2"), ("postgresql", "v2")]


def _narrowed_to(metafunc: pytest.Metafunc, name: str, known: list[str]) -> list[str]:
    marker = metafunc.definition.get_closest_marker(name)
    if marker is None:
        return known
    if "reason" not in marker.kwargs:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: a {name} marker must give a reason")
    return [k for k in known if k in marker.args]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Database tests run on each database; stack tests on one pair per database and per API (PAIRS).

    A `backend` or `database` marker narrows a test (or a module); when no pair is left, the test runs on
    the first combination its markers allow.
    """
    if "backend" not in metafunc.fixturenames:
        if "database_url" in metafunc.fixturenames:  # every database test runs on each database
            databases = _narrowed_to(metafunc, "database", DATABASES)
            metafunc.parametrize("database_url", databases, indirect=True)
        return
    apis = _narrowed_to(metafunc, "backend", BACKENDS)
    databases = _narrowed_to(metafunc, "database", DATABASES)
    allowed = [(d, b) for d in databases for b in apis]
    pairs = FULL_MATRIX if os.environ.get("BOT_TEST_MATRIX") == "full" else PAIRS
    chosen = [pair for pair in pairs if pair in allowed] or allowed[:1]
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize(
            ("database_url", "backend"), chosen, indirect=True, ids=[f"{d}-{b}" for d, b in chosen]
        )
    else:
        apis_chosen = list(dict.fromkeys(b for _, b in chosen))
        metafunc.parametrize("backend", apis_chosen, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKEND_BY_NAME[request.param]


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


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    with pg_schema("t_") as url:
        yield url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim_key() -> str:
    """The API key the simulator accepts (a module of client or simulator tests may set its own)."""
    return TOGETHER_KEY


@pytest.fixture
def sim(clock: ManualClock, sim_key: str) -> TogetherSimulator:
    return TogetherSimulator(clock=clock, api_key=sim_key)


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
def fake_slack() -> Iterator[FakeSlackWithSocketMode]:
    with FakeSlackWithSocketMode(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as fake:
        yield fake


@pytest.fixture
def stack_settings() -> dict[str, object]:
    """Settings the `stack` fixture adds to the test defaults; a test module overrides this fixture to set
    some (e.g. `bot_policy_file`, with `policy_settings`)."""
    return {}


@pytest.fixture
def stack(database_url, fake_slack, sim, sim_server, clock, backend, stack_settings) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    """The whole bot on one database and one Together API (see `pytest_generate_tests` for which pairs)."""
    provider = provider_for(backend, sim, sim_server, clock)
    s = start_stack(database_url, fake_slack, sim, sim_server, provider, clock, backend, **stack_settings)
    yield s
    assert_nothing_refused(fake_slack)
    s.bot.stop()
    assert s.server is not None
    s.server.stop()
    s.slack.close()
    s.bot.store.engine.dispose()
    provider.close()
