"""The whole bot wired to the fake Slack and the Together simulator, and who plays whom in the tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import Settings, load_settings
from bot.runtime import Bot, build_bot
from bot.sandbox.block_kit_rules import REFUSALS
from bot.sandbox.driver import SlackDriver
from bot.sandbox.fake_slack import FakeSlack
from bot.server import ServerThread
from bot.simulator.clock import ManualClock
from bot.simulator.core import TogetherSimulator
from bot.simulator.server import SimulatorServer
from bot.slack.app import make_web_client
from bot.together.v1.client import TogetherClient
from bot.together.v2.client import TogetherV2Client
from tests.support.backends import V1, Backend

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-bot-token-42"
APP_TOKEN = "xapp-1-A0SIM-1-test-app-level-token"  # Socket Mode (tests/ops/test_socket_mode.py)
TOGETHER_KEY = "tk-test-together-key-0123456789"
REQUESTER = "UREQUESTER"
APPROVER = "UAPPROVER1"
APPROVER_2 = "UAPPROVER2"
BYSTANDER = "UBYSTANDER"
ADMIN = "UADMIN"
CHANNEL = "C0LAUNCH"


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


def policy_settings(folder: Path, text: str) -> dict[str, object]:
    """`stack_settings` for a policy file with `text`, written in `folder`."""
    path = folder / "policy.toml"
    path.write_text(text)
    return {"bot_policy_file": path}
