"""The whole bot on one machine: the real Bolt app and loops, a pretend Slack, a simulated Together.

Nothing of the bot is re-implemented: `build_bot` makes the same app `bot run` serves, the driver sends
it the signed requests Slack would send over HTTP, and the bot's Web API calls land in `FakeSlack`.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from pydantic import SecretStr

from bot.config import Settings
from bot.domain.model import RequestStatus
from bot.runtime import Bot, build_bot
from bot.sandbox.driver import SlackDriver
from bot.sandbox.fake_slack import FakeSlack
from bot.server import ServerThread
from bot.simulator.local import LOCAL_KEY, serve_simulator, simulator_client
from bot.simulator.server import SimulatorServer
from bot.slack.app import make_web_client

TEAM_ID = "T0SIM"  # the pretend workspace; real Slack team ids never look like this
DEFAULT_APPROVER = "approver"
SHELL_POLL_SECONDS = 0.5
RETIRED = "its bot shell session ended, and its simulated endpoints with it"


class ForeignDatabase(Exception):
    """The database holds launches from a real Slack workspace; the shell must not follow them."""


@dataclass
class LocalBot:
    settings: Settings
    fake: FakeSlack
    simulator: SimulatorServer
    bot: Bot
    server: ServerThread
    driver: SlackDriver
    retired: int = 0  # endpoints and launches of earlier sessions, ended at start

    def __post_init__(self) -> None:
        self._calls = 0
        self._last_call = time.monotonic()
        self._lock = threading.Lock()
        self.fake.add_listener(self._on_call)

    def _on_call(self, _call: object) -> None:
        with self._lock:
            self._calls += 1
            self._last_call = time.monotonic()

    @property
    def calls(self) -> int:
        """How many Web API calls the bot has made (anything it shows goes through one)."""
        with self._lock:
            return self._calls

    def wait_for_call(self, *, after: int, timeout: float) -> bool:
        """Wait until the bot has made a Web API call beyond the first `after` (it answered something)."""
        deadline = time.monotonic() + timeout
        while self.calls <= after:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def quiet_for(self) -> float:
        with self._lock:
            return time.monotonic() - self._last_call

    def idle(self) -> bool:
        """Nothing queued: every Slack update delivered and no approved launch still in flight."""
        store = self.bot.store
        in_flight = store.requests(statuses=[RequestStatus.APPROVED, RequestStatus.LAUNCHING])
        return not in_flight and store.undelivered_count() == 0

    def settle(self, timeout: float = 5.0, quiet: float = 0.25) -> bool:
        """Wait until the bot has gone quiet and has nothing queued (or `timeout` passes)."""
        self.bot.launcher.kick()
        self.bot.publishing.kick()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if self.quiet_for() >= quiet and self.idle():
                return True
        return False

    def stop(self) -> None:
        """Stop everything. The simulated endpoints go with the simulator: stop following them."""
        self.fake.remove_listener(self._on_call)
        self.bot.stop()
        self.bot.store.retire_team(TEAM_ID, reason=RETIRED)
        self.server.stop()
        self.driver.close()
        self.simulator.stop()
        self.fake.stop()
        self.bot.store.engine.dispose()


def local_settings(settings: Settings, fake: FakeSlack, simulator: SimulatorServer, signing: str) -> Settings:
    """The user's settings with Slack and Together pointed at the local stand-ins."""
    update: dict[str, object] = {
        "slack_bot_token": SecretStr(str(fake.bot_token)),
        "slack_signing_secret": SecretStr(signing),
        "slack_app_token": None,
        "slack_api_url": fake.base_url,
        "together_api_key": SecretStr(LOCAL_KEY),
        "together_base_url": simulator.url + "/v1",
    }
    if not settings.approvers and settings.bot_policy_file is None:  # a policy file names its approvers
        update["bot_approvers"] = DEFAULT_APPROVER
    if "bot_poll_seconds" not in settings.model_fields_set:
        update["bot_poll_seconds"] = SHELL_POLL_SECONDS
    return settings.model_copy(update=update)


def start_local(settings: Settings, *, speed: float) -> LocalBot:
    """Start the pretend Slack, the simulator, the bot (HTTP server and loops) and a driver."""
    signing = secrets.token_hex(16)
    fake = FakeSlack(bot_token="xoxb-local-" + secrets.token_hex(8), team_id=TEAM_ID).start()
    simulator = serve_simulator(speed=speed)
    try:
        config = local_settings(settings, fake, simulator, signing)
        assert config.slack_bot_token is not None
        bot = build_bot(
            config,
            provider=simulator_client(simulator, api=settings.together_api),
            client=make_web_client(config.slack_bot_token.get_secret_value(), fake.base_url),
            simulated=True,
            callable_endpoints=False,  # the simulator's port is gone once the shell exits
        )
    except BaseException:
        simulator.stop()
        fake.stop()
        raise
    foreign = sorted({r.team_id for r in bot.store.requests()} - {TEAM_ID})
    if foreign:
        bot.store.engine.dispose()
        simulator.stop()
        fake.stop()
        raise ForeignDatabase(
            f"DATABASE_URL ({bot.store.engine.url.render_as_string(hide_password=True)}) holds launches from "
            f"a real Slack workspace ({', '.join(foreign)}). The shell would follow their endpoints in its "
            "simulator and record them as gone. Point it at a database of its own, for example "
            "DATABASE_URL=sqlite:///shell.db bot shell"
        )
    # The pretend Slack and the simulator of earlier sessions are gone, and what they showed with them.
    retired = bot.store.retire_team(TEAM_ID, reason=RETIRED)
    bot.start()
    server = ServerThread(bot.app, bot.store, readiness=bot.readiness).start()
    driver = SlackDriver(fake, signing, server.url + "/slack/events", team_id=TEAM_ID)
    return LocalBot(config, fake, simulator, bot, server, driver, retired)
