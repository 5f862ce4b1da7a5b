"""Wiring: settings in, a running bot out (store, Together client, Bolt app, background loops)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from slack_bolt import App
from slack_sdk import WebClient

from bot import metrics
from bot.config import Settings
from bot.domain.catalog import Catalog
from bot.domain.cost.spend_views import SpendViews
from bot.domain.directory import ModelDirectory
from bot.domain.launch import LaunchService
from bot.domain.lifecycle import LifecycleService
from bot.domain.names import display_name
from bot.domain.provider import EndpointProvider
from bot.domain.reminders import Reminders
from bot.domain.smoke import SmokeTests
from bot.domain.tracker import track
from bot.policy_file import policy_from_settings
from bot.readiness import Readiness
from bot.slack.app import build_app, make_publisher_client, make_web_client
from bot.slack.digest import CHECK_INTERVAL as DIGEST_CHECK_INTERVAL
from bot.slack.digest import DigestPoster
from bot.slack.listeners.endpoints import LifecycleListeners
from bot.slack.listeners.routes import Listeners
from bot.slack.listeners.spend import SpendAnswers
from bot.slack.observe import ObservedWebClient
from bot.slack.publisher import Publisher
from bot.slack.token_health import TokenHealth
from bot.slack.views.renderer import Renderer
from bot.store.db import SingleProcessLock, make_engine, migrate
from bot.store.store import Store
from bot.together.inference import InferenceProber
from bot.workers import Loop

log = logging.getLogger(__name__)

# The launcher also picks up approved requests a previous process left behind, and expires requests.
LAUNCHER_INTERVAL = 5.0
PUBLISHER_INTERVAL = 1.0
CATALOG_REFRESH_INTERVAL = 240.0  # below the hardware cache's lifetime, so lookups stay warm
HOUSEKEEPING_INTERVAL = 3600.0
OUTBOX_RETENTION = timedelta(days=7)  # delivered Slack updates; the audit trail is kept for good


@dataclass
class Bot:
    settings: Settings
    store: Store
    provider: EndpointProvider
    catalog: Catalog
    launches: LaunchService
    renderer: Renderer
    publisher: Publisher
    client: WebClient
    app: App
    launcher: Loop
    tracker: Loop
    publishing: Loop
    catalog_refresh: Loop | None = None
    housekeeping: Loop | None = None
    lock: SingleProcessLock | None = None
    loops: list[Loop] = field(default_factory=list)
    lifecycle: LifecycleService | None = None
    reminders: Reminders | None = None
    digest: DigestPoster | None = None  # the weekly spend digest (BOT_DIGEST_CHANNEL set)
    digests: Loop | None = None
    token_health: TokenHealth | None = None
    token_check: Loop | None = None
    readiness: Readiness | None = None
    directory: ModelDirectory | None = None
    smoke: Loop | None = None  # the smoke tests (None: BOT_SMOKE_TEST=0)
    smoke_tests: SmokeTests | None = None

    def start(self, *, tracker: bool = True) -> None:
        self.loops = [self.launcher, self.publishing] + ([self.tracker] if tracker else [])
        extra = (self.catalog_refresh, self.housekeeping, self.digests, self.token_check)
        self.loops += [loop for loop in extra if loop is not None]
        if tracker and self.smoke is not None:
            self.loops.append(self.smoke)
        for loop in self.loops:
            loop.start()

    def stop(self) -> None:
        """Stop the background loops and let another process use the database."""
        for loop in self.loops:
            loop.stop()
        self.loops = []
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def settle(self) -> None:
        """Run every loop's work once, in order (for tests and the shell)."""
        self.launcher.run_once()
        self.tracker.run_once()
        if self.smoke is not None:
            self.smoke.run_once()
        self.publishing.run_once()


def poll_interval(settings: Settings, launches: LaunchService) -> float:
    """Fast while an endpoint is changing state, slower when all are settled."""
    if launches.busy():
        return settings.bot_poll_seconds
    return max(settings.bot_poll_seconds, settings.bot_poll_idle_seconds)


TOGETHER_HOSTS = ("api.together.ai", "api.together.xyz")
V2_INFERENCE_URL = "https://api-inference.together.ai/v1"
SMOKE_INTERVAL = 30.0  # the smoke-test loop also looks this often for tests left by a stopped process


def inference_url(provider: EndpointProvider, override: str | None = None) -> str:
    """Where endpoints answer chat completions (the smoke test, the usage example in the READY reply):
    `TOGETHER_INFERENCE_URL` if set; on v2 at Together, Together's inference host; else the API root's /v1
    (so a simulator or proxy named by TOGETHER_BASE_URL answers)."""
    if override:
        return override.rstrip("/")
    root = provider.root_url.rstrip("/")
    at_together = urlsplit(root).hostname in TOGETHER_HOSTS
    if provider.api_version == "v2" and at_together:
        return V2_INFERENCE_URL  # v2 serves inference from its own host
    return f"{root}/v1"


def inference_key(settings: Settings, simulated: bool) -> str:
    """The key the smoke test sends: TOGETHER_API_KEY, or the local simulator's when simulating."""
    if settings.together_api_key is not None and settings.together_api_key.get_secret_value():
        return settings.together_api_key.get_secret_value()
    if simulated:
        from bot.simulator.local import LOCAL_KEY

        return LOCAL_KEY
    settings.require("together_api_key")
    raise AssertionError("unreachable: require() raised")


def together_provider(settings: Settings) -> EndpointProvider:
    from bot.together.backends import make_provider

    settings.require("together_api_key")
    assert settings.together_api_key is not None
    key = settings.together_api_key.get_secret_value()
    return make_provider(settings.together_api, settings.together_base_url, key, settings.together_project_id)


def build_bot(
    settings: Settings,
    *,
    provider: EndpointProvider | None = None,
    client: WebClient | None = None,
    apply_migrations: bool = True,
    simulated: bool = False,
    serves_slack: bool = True,
    callable_endpoints: bool = True,
) -> Bot:
    """Everything the bot runs. `serves_slack=False` (the worker role) receives no Slack requests, so it
    needs no signing secret. `callable_endpoints=False` (the shell, whose simulator ends with it) leaves
    the `curl` example out of the STARTED reply."""
    settings.require(
        *(("slack_signing_secret",) if serves_slack else ()),
        *(() if client is not None else ("slack_bot_token",)),
    )
    catalog = Catalog.load(settings.bot_catalog)
    policy = policy_from_settings(settings, catalog)  # a ConfigError naming the file and key, if wrong
    engine = make_engine(settings.database_url)
    lock = SingleProcessLock(engine)
    if apply_migrations:
        migrate(engine)
    store = Store(engine)
    store.observers.append(metrics.count_audit_actions)
    provider = provider or together_provider(settings)
    if client is None:
        assert settings.slack_bot_token is not None
        client = make_web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    token_health = TokenHealth(check=client.auth_test)
    if isinstance(client, ObservedWebClient):
        client.token_health = token_health

    launcher = Loop("launcher", lambda: None, LAUNCHER_INTERVAL)
    publishing = Loop("publisher", lambda: None, PUBLISHER_INTERVAL)
    tracker = Loop("tracker", lambda: None, settings.bot_poll_seconds)
    smoke = Loop("smoke-test", lambda: None, SMOKE_INTERVAL) if settings.bot_smoke_test else None
    launches = LaunchService(
        store,
        provider,
        catalog,
        policy,
        on_outbox=publishing.kick,
        on_approved=launcher.kick,
        on_launched=tracker.kick,
        on_came_up=smoke.kick if smoke is not None else lambda: None,
        smoke_tests=smoke is not None,
    )
    tracker.interval = lambda: poll_interval(settings, launches)
    launcher.work = lambda: (
        launches.expire_due(),
        launches.launch_approved(),
        launches.recover_launches(),
    )
    inference = inference_url(provider, settings.together_inference_url)
    renderer = Renderer(
        catalog,
        policy,
        inference_url=inference if callable_endpoints else None,
        simulated=simulated,
    )
    publisher_client = make_publisher_client(client.token or "", client.base_url)
    publisher_client.token_health = token_health
    smoke_tests: SmokeTests | None = None
    if smoke is not None:
        prober = InferenceProber(inference, inference_key(settings, simulated))
        smoke_tests = SmokeTests(store, prober, now=lambda: launches.now(), on_outbox=publishing.kick)
        smoke.work = smoke_tests.run_due
    publisher = Publisher(
        store,
        publisher_client,
        renderer,
        costs=launches.costs.of,
    )
    publishing.work = publisher.deliver_due
    lifecycle = LifecycleService(
        store,
        provider,
        launches.tracker,
        launches.checks,
        policy.access(),
        launch_lease=launches.launch_lease,
        on_outbox=publishing.kick,
        on_acted=tracker.kick,
    )
    launches.attach_changes(lifecycle.changes)
    hours = settings.bot_remind_after_hours
    reminders = Reminders(
        store,
        launches,
        policy.access(),
        timedelta(hours=hours) if hours > 0 else None,
        on_outbox=publishing.kick,
    )

    def tracker_tick() -> int:
        """What the tracker loop does each tick; returns the state changes recorded."""
        changes = track(launches, lifecycle, observe=metrics.observe_tracker_tick)
        reminders.send_due()
        return changes

    tracker.work = tracker_tick
    spend_views = SpendViews(
        launches.costs, lambda r: display_name(r, catalog), policy.budgets, settings.timezone
    )
    digest = None
    if settings.bot_digest_channel is not None:
        digest = DigestPoster(store, spend_views, client, settings.bot_digest_channel)
    # The model menu and the hardware lists come from memory (Slack's clock is 3 s; Together may take longer):
    # refreshed on a schedule, and at once when a search finds the model listing missing or old.
    catalog_refresh = Loop("catalogue-refresh", lambda: None, CATALOG_REFRESH_INTERVAL)
    directory = ModelDirectory(catalog, provider, on_stale=catalog_refresh.kick)
    catalog_refresh.work = lambda: (directory.refresh(), launches.warm_hardware_cache())
    if settings.slack_signing_secret is not None:
        signing_secret = settings.slack_signing_secret.get_secret_value()
    else:  # a worker: the Bolt app only carries the listeners' wiring and never verifies a request
        signing_secret = secrets.token_hex(16)
    app = build_app(
        client=client,
        signing_secret=signing_secret,
        listeners=Listeners(
            launches,
            catalog,
            renderer,
            lifecycle=LifecycleListeners(lifecycle, reminders, SpendAnswers(spend_views)),
            directory=directory,
        ),
    )
    return Bot(
        settings,
        store,
        provider,
        catalog,
        launches,
        renderer,
        publisher,
        client,
        app,
        launcher,
        tracker,
        publishing,
        catalog_refresh=catalog_refresh,
        housekeeping=Loop(
            "housekeeping", lambda: store.purge_delivered(OUTBOX_RETENTION), HOUSEKEEPING_INTERVAL
        ),
        lock=lock,
        lifecycle=lifecycle,
        reminders=reminders,
        digest=digest,
        digests=Loop("spend-digest", digest.post_due, DIGEST_CHECK_INTERVAL) if digest else None,
        token_health=token_health,
        token_check=Loop("slack-token-check", token_health.check, token_health.interval),
        readiness=Readiness(engine, token_health),
        directory=directory,
        smoke=smoke,
        smoke_tests=smoke_tests,
    )
