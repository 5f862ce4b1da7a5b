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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "backend(name, reason=...): run this stack test on one Together API only, and say why",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Database tests run on each database; stack tests on (sqlite, v1), (postgresql, v1), (sqlite, v2).

    v2 on PostgreSQL is covered by tests/test_v2_flow.py; the full product would double the suite's time.
    A `backend` marker narrows a test (or a module) to one API.
    """
    if "backend" not in metafunc.fixturenames:
        if "database_url" in metafunc.fixturenames:  # every database test runs on each database
            metafunc.parametrize("database_url", DATABASES, indirect=True)
        return
    marker = metafunc.definition.get_closest_marker("backend")
    if marker is not None and "reason" not in marker.kwargs:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: a backend marker must give a reason")
    wanted = [b for b in BACKENDS if marker is None or b in marker.args]
    combos = [("sqlite", "v1"), ("postgresql", "v1"), ("sqlite", "v2")]
    chosen = [(d, b) for d, b in combos if d in DATABASES and b in wanted]
    if not chosen and wanted and DATABASES:  # e.g. BOT_TEST_DATABASES=postgresql BOT_TEST_BACKENDS=v2
        chosen = [(DATABASES[0], wanted[0])]
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize(
            ("database_url", "backend"), chosen, indirect=True, ids=[f"{d}-{b}" for d, b in chosen]
        )
    else:
        metafunc.parametrize("backend", [b for _, b in chosen], indirect=True)


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
