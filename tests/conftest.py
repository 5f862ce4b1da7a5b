"""Fixtures: the Together simulator, the fake Slack, a database (SQLite and PostgreSQL), the whole bot."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot.config import Settings, load_settings
from bot.runtime import Bot, build_bot
from bot.server import ServerThread
from bot.simulator.clock import ManualClock
from bot.simulator.core import TogetherSimulator
from bot.simulator.server import SimulatorServer
from bot.simulator.v1.api import DEFAULT_DURATIONS
from bot.simulator.v2.state import DEFAULT_V2_DURATIONS
from bot.slack.app import make_web_client
from bot.testing import slack_requests
from bot.testing.block_kit_rules import REFUSALS
from bot.testing.driver import SlackDriver
from bot.testing.fake_slack import FakeSlack
from bot.together.v1.client import TogetherClient
from bot.together.v2.client import TogetherV2Client

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-bot-token-42"
APP_TOKEN = "xapp-1-A0SIM-1-test-app-level-token"  # Socket Mode (tests/test_socket_mode.py)
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
BACKENDS = [b.strip() for b in os.environ.get("BOT_TEST_BACKENDS", "v1,v2").split(",") if b.strip()]
# Slack's 3 seconds for an answer hold in every test; a machine too loaded to keep time may allow more.
slack_requests.SLACK_ACK_SECONDS = float(
    os.environ.get("BOT_TEST_ACK_SECONDS", slack_requests.SLACK_ACK_SECONDS)
)

# A PATCH that changes a running endpoint, as a test compares it: (its updateMask, its body without etag).
Patch = tuple[str | None, dict[str, Any]]
V2_BOUNDS_MASK = "autoscaling.minReplicas,autoscaling.maxReplicas"
V2_LLAMA_8B_DEPLOYMENT = "meta-llama-3-1-8b-instruct-turbo"  # v2 names a deployment after its model


@dataclass(frozen=True)
class Backend:
    """What a stack test needs to know about a Together API to stay neutral about which one it talks to."""

    name: str
    hardware: str  # a `/endpoint create` alias both APIs offer
    start_states: tuple[str, ...]  # the states a launch or a start goes through, in order
    stop_states: tuple[str, ...]
    failed_state: str  # what Together reports for an endpoint that failed to come up
    start_steps: tuple[float, ...]  # seconds to advance to leave each start state but the last
    endpoints_path: str  # regex (fullmatch) for the collection creates go to
    endpoint_path: str  # regex for one endpoint and what lies under it
    id_prefix: str  # how Together's endpoint ids begin
    patch_path: str  # regex for where stop, start, scale and auto-stop changes go (v2: the deployment)
    etags: bool  # whether those PATCHes must carry the etag of what they change
    start_refusals: tuple[str, str]  # `start` refused in the first two start states: why, as the bot says it
    min_auto_stop: int  # the fewest idle minutes Together accepts for auto-stop (a smaller ask is raised)
    read: Callable[[TogetherSimulator], dict[str, dict[str, Any]]] = field(repr=False)
    force: Callable[[TogetherSimulator, str, str], None] = field(repr=False)
    patch_for: Callable[..., Patch] = field(repr=False)
    auto_stop_of: Callable[[dict[str, Any]], int] = field(repr=False)

    @property
    def started(self) -> str:
        return self.start_states[-1]

    @property
    def any_path(self) -> str:
        """Every endpoint path: the collection and each endpoint (for faults on all reads)."""
        return self.endpoints_path + "(/.*)?"

    def endpoints(self, sim: TogetherSimulator) -> dict[str, dict[str, Any]]:
        """The endpoints the simulator holds on this API, by id."""
        return self.read(sim)

    def creates(self, sim: TogetherSimulator) -> int:
        """How many create calls reached Together (v2: endpoint creations, not deployments)."""
        return sum(
            1
            for r in sim.requests
            if r.method == "POST" and re.fullmatch(self.endpoints_path, r.path.rstrip("/"))
        )

    def force_state(self, sim: TogetherSimulator, endpoint_id: str, state: str) -> None:
        """Change the endpoint's state from outside the bot, as the console would."""
        self.force(sim, endpoint_id, state)

    def patch(self, action: str, *values: int) -> Patch:
        """The PATCH the bot sends for `stop low high`, `start low high`, `scale low high` or `timeout minutes`.

        v2 has no state verbs: a stop sets 0/0 and remembers the bounds in the deployment's name, a start
        sends the bounds again; both name the fields they change in `updateMask`.
        """
        return self.patch_for(action, *values)


def _force_v2(sim: TogetherSimulator, endpoint_id: str, state: str) -> None:
    deployment = sim.v2_endpoints[endpoint_id]["_deployments"][0]
    sim.force_deployment_state(deployment["id"], state)


def _v1_patch(action: str, *values: int) -> Patch:
    if action == "stop":
        return None, {"state": "STOPPED"}
    if action == "start":
        return None, {"state": "STARTED"}
    if action == "scale":
        low, high = values
        return None, {"autoscaling": {"min_replicas": low, "max_replicas": high}}
    if action == "timeout":
        (minutes,) = values
        return None, {"inactive_timeout": minutes}
    raise ValueError(action)


def _v2_patch(action: str, *values: int) -> Patch:
    """For llama-8b (the lifecycle tests' model). `start` is that of a deployment stopped with its bounds
    kept (by auto-stop, or from outside as `force_state` plays it); the bot's own stop renames it."""
    if action == "stop":
        low, high = values
        return f"{V2_BOUNDS_MASK},name", {
            "autoscaling": {"minReplicas": 0, "maxReplicas": 0},
            "name": f"{V2_LLAMA_8B_DEPLOYMENT}-stopped-{low}-{high}",
        }
    if action in ("start", "scale"):
        low, high = values
        return V2_BOUNDS_MASK, {"autoscaling": {"minReplicas": low, "maxReplicas": high}}
    if action == "timeout":
        (minutes,) = values
        return "inactiveTimeout", {"inactiveTimeout": minutes}
    raise ValueError(action)


V1 = Backend(
    name="v1",
    hardware="h100",
    start_states=("PENDING", "STARTING", "STARTED"),
    stop_states=("STOPPING", "STOPPED"),
    failed_state="ERROR",
    start_steps=(DEFAULT_DURATIONS["PENDING"] + 1, DEFAULT_DURATIONS["STARTING"] + 1),
    endpoints_path=r"/v1/endpoints",
    endpoint_path=r"/v1/endpoints/[^/]+",
    id_prefix="endpoint-",
    patch_path=r"/v1/endpoints/[^/]+",
    etags=False,
    start_refusals=("is already starting (PENDING)", "is already starting (STARTING)"),
    min_auto_stop=1,
    read=lambda sim: sim.endpoints,
    force=lambda sim, endpoint_id, state: sim.force_state(endpoint_id, state),
    patch_for=_v1_patch,
    auto_stop_of=lambda endpoint: endpoint["inactive_timeout"],
)
V2 = Backend(
    name="v2",
    hardware="h100",
    start_states=("PROVISIONING", "SCALING", "READY"),
    stop_states=("STOPPING", "STOPPED"),
    failed_state="FAILED",
    start_steps=(DEFAULT_V2_DURATIONS["PROVISIONING"] + 1, DEFAULT_V2_DURATIONS["SCALING"] + 1),
    endpoints_path=r"/v2/projects/[^/]+/endpoints",
    endpoint_path=r"/v2/projects/[^/]+/endpoints/[^/]+",
    id_prefix="ep_",
    patch_path=r"/v2/projects/[^/]+/endpoints/[^/]+/deployments/[^/]+",
    etags=True,
    # SCALING is also how v2 reports a running deployment changing size, so the bot counts it as running.
    start_refusals=("is already starting (PROVISIONING)", "is already running (SCALING)"),
    min_auto_stop=30,  # v2 accepts 0 or 30-1440 minutes
    read=lambda sim: sim.v2_endpoints,
    force=_force_v2,
    patch_for=_v2_patch,
    auto_stop_of=lambda endpoint: endpoint["_deployments"][0].get("inactiveTimeout", 0),
)
BACKEND_BY_NAME = {"v1": V1, "v2": V2}


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
    with FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as fake:
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
    """The bot serving HTTP on a local port (or connected over Socket Mode, with no server), wired to the
    fake Slack and the Together simulator."""

    bot: Bot
    server: ServerThread | None
    slack: SlackDriver
    fake: FakeSlack
    sim: TogetherSimulator
    clock: ManualClock
    backend: Backend = V1

    def follow_simulated_time(self) -> None:
        """The bot's clock (approvals, expiry, state history and the cost meter) reads the simulator's."""
        self.bot.launches.now = lambda: datetime.fromtimestamp(self.clock.now(), UTC)

    def settle(self, rounds: int = 2) -> None:
        for _ in range(rounds):
            self.bot.settle()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.settle()

    def start(self) -> None:
        """Let Together bring a launch (or a start) through every start state to the last."""
        for seconds in self.backend.start_steps:
            self.advance(seconds)

    def creates(self) -> int:
        return self.backend.creates(self.sim)

    def endpoints(self) -> dict[str, dict[str, Any]]:
        return self.backend.endpoints(self.sim)

    def force_state(self, endpoint_id: str, state: str) -> None:
        self.backend.force_state(self.sim, endpoint_id, state)

    def card(self):  # type: ignore[no-untyped-def]
        messages = self.fake.messages(CHANNEL)
        assert len(messages) == 1, [m.text for m in messages]
        return messages[0]

    def thread(self) -> list[str]:
        return [m.text for m in self.fake.replies(CHANNEL, self.card().ts)]

    def ephemeral_texts(self, user: str) -> list[str]:
        return [m.text for m in self.fake.ephemerals(user)]


def build_stack_bot(
    database_url: str,
    fake_slack: FakeSlack,
    sim: TogetherSimulator,
    sim_server: SimulatorServer,
    together: Any,
    backend: Backend = V1,
    **settings: object,
) -> Bot:
    """The whole bot wired to the fake Slack and the simulator, serving nothing yet."""
    if backend.name == "v2":
        settings = {"together_api": "v2", "together_project_id": sim.project_id, **settings}
    config = make_settings(database_url, fake_slack, sim_server, **settings)
    bot = build_bot(config, provider=together, client=make_web_client(BOT_TOKEN, fake_slack.base_url))
    # Retries keep their logic but not their real waiting: tests must stay fast.
    bot.publisher.base_delay = 0.01
    bot.launches.sleep = lambda _seconds: None
    return bot


def start_stack(
    database_url: str,
    fake_slack: FakeSlack,
    sim: TogetherSimulator,
    sim_server: SimulatorServer,
    together: TogetherClient,
    clock: ManualClock,
    backend: Backend = V1,
    **settings: object,
) -> Stack:
    bot = build_stack_bot(database_url, fake_slack, sim, sim_server, together, backend, **settings)
    server = ServerThread(bot.app, bot.store, readiness=bot.readiness).start()
    driver = SlackDriver(fake_slack, SIGNING_SECRET, server.url + "/slack/events")
    return Stack(bot, server, driver, fake_slack, sim, clock, backend)


def provider_for(
    backend: Backend, sim: TogetherSimulator, sim_server: SimulatorServer, clock: ManualClock
) -> Any:
    """A Together client for `backend`; v2's waits (a delete waits for STOPPED) move the simulated clock."""
    if backend.name == "v1":
        return TogetherClient(
            sim_server.url + "/v1", TOGETHER_KEY, backoff_base=0.01, backoff_cap=0.05, timeout=5
        )
    return TogetherV2Client(
        sim_server.url,
        TOGETHER_KEY,
        sim.project_id,
        backoff_base=0.01,
        backoff_cap=0.05,
        timeout=5,
        sleep=clock.advance,
        stop_poll=5,
    )


def assert_nothing_refused(fake: FakeSlack) -> None:
    """The bot sent Slack nothing it would refuse: a refusal the bot only logs would go unseen otherwise."""
    refused = [
        f"{c.method}: {c.error or c.response} {c.problems}"
        for c in fake.calls()
        if c.error in REFUSALS - {"exchanged_trigger_id"}  # a double click uses one twice: Slack's own answer
    ]
    assert not refused, "Slack would have refused:\n" + "\n".join(refused)


@pytest.fixture
def stack_settings() -> dict[str, object]:
    """Settings the `stack` fixture adds to the test defaults; a test module overrides this fixture to set
    some (e.g. `bot_policy_file`, with `policy_settings`)."""
    return {}


def policy_settings(folder: Path, text: str) -> dict[str, object]:
    """`stack_settings` for a policy file with `text`, written in `folder`."""
    path = folder / "policy.toml"
    path.write_text(text)
    return {"bot_policy_file": path}


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
