"""Operating the bot: GET /metrics (read with prometheus_client's own parser), /readyz and /healthz, and the
JSON log format. The deploy/ example is checked in tests/ops/test_deploy.py."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, event, insert

from bot.domain.clock import utcnow
from bot.domain.model import RequestStatus
from bot.exposition import exposition
from bot.logs import log_context, setup_logging
from bot.readiness import Readiness
from bot.server import ServerThread
from bot.slack.ids import Block
from bot.slack.token_health import TokenHealth
from bot.store import Store
from bot.store.db import make_engine, migrate
from bot.store.gauges import GaugeQueries
from bot.store.tables import EndpointRow, EndpointStateRow, LaunchRequestRow, OutboxRow
from tests.support.launching import approve, launch_text, request_launch
from tests.support.paths import ROOT
from tests.support.stack import APP_TOKEN, APPROVER, BOT_TOKEN, REQUESTER, SIGNING_SECRET, TOGETHER_KEY, Stack

FAMILIES = {
    "endpoint_bot_slack_requests": "counter",
    "endpoint_bot_slack_ack_seconds": "histogram",
    "endpoint_bot_slack_api_calls": "counter",
    "endpoint_bot_outbox_pending": "gauge",
    "endpoint_bot_outbox_oldest_age_seconds": "gauge",
    "endpoint_bot_outbox_failures": "counter",
    "endpoint_bot_together_calls": "counter",
    "endpoint_bot_together_call_seconds": "histogram",
    "endpoint_bot_tracker_tick_seconds": "histogram",
    "endpoint_bot_tracker_last_success_timestamp_seconds": "gauge",
    "endpoint_bot_launches": "counter",
    "endpoint_bot_requests_pending": "gauge",
    "endpoint_bot_endpoints": "gauge",
    "endpoint_bot_dollars_per_hour": "gauge",
}


class Scrape:
    """One GET /metrics, parsed by prometheus_client's own text parser."""

    def __init__(self, text: str) -> None:
        self.families = {f.name: f for f in text_string_to_metric_families(text)}

    def value(self, sample_name: str, **labels: str) -> float:
        """The sample's value (0 when it is not there: a counter never incremented)."""
        for family in self.families.values():
            for sample in family.samples:
                if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return float(sample.value)
        return 0.0

    def labels(self, sample_name: str, label: str) -> dict[str, float]:
        found = {}
        for family in self.families.values():
            for sample in family.samples:
                if sample.name == sample_name:
                    found[sample.labels[label]] = float(sample.value)
        return found


def scrape(url: str) -> Scrape:
    response = httpx.get(url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def series(s: Scrape, sample_name: str, *labels: str) -> dict[Any, float]:
    """Every sample of that name, by its label values joined with a space."""
    return {
        " ".join(sample.labels[label] for label in labels): float(sample.value)
        for family in s.families.values()
        for sample in family.samples
        if sample.name == sample_name
    }


def slack_requests(s: Scrape) -> dict[Any, float]:
    return series(s, "endpoint_bot_slack_requests_total", "kind", "outcome")


def delta(after: dict[Any, float], before: dict[Any, float]) -> dict[Any, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0)}


# --- /metrics -------------------------------------------------------------------------------------


def test_metrics_after_a_launch_a_refusal_a_together_500_and_a_slack_429(stack: Stack) -> None:
    assert stack.server is not None
    url = stack.server.url
    before = scrape(url)
    assert {name: f.type for name, f in before.families.items() if name in FAMILIES} == FAMILIES

    # A launch, approved and brought up; Together answers the tracker's list call 500 once (it retries).
    request_launch(stack, launch_text(stack))
    approve(stack)
    stack.sim.inject("GET", stack.backend.endpoints_path, 500, times=1)
    stack.start()
    # Someone types a model that does not exist: told what to fix.
    stack.slack.command(REQUESTER, "create no-such-model h100 1")
    stack.slack.wait_for_ephemeral(REQUESTER, "no-such-model")
    # A second request, refused: the approver first submits without the reason the form requires.
    stack.fake.fail("chat.postMessage", 429, retry_after=0)  # Slack rate-limits the new card's first post
    stack.slack.command(REQUESTER, launch_text(stack, "1"))
    stack.slack.wait_for_view(REQUESTER)
    assert stack.slack.submit(REQUESTER) is None
    stack.settle()
    stack.slack.click(APPROVER, "Reject")  # on the newest card
    stack.slack.wait_for_view(APPROVER)
    errors = stack.slack.submit(APPROVER)
    assert errors and Block.REASON in errors
    stack.slack.set(APPROVER, Block.REASON, "one is enough")
    assert stack.slack.submit(APPROVER) is None
    stack.settle()

    expected_requests = {
        "command ok": 2,
        "command user_error": 1,
        "view_submission ok": 4,  # two launch forms, the approval, the rejection
        "view_submission user_error": 1,  # the rejection without a reason
        "action ok": 2,  # the Approve and Reject clicks
    }
    wait_until(lambda: delta(slack_requests(scrape(url)), slack_requests(before)) == expected_requests)
    after = scrape(url)

    acks = after.value("endpoint_bot_slack_ack_seconds_count") - before.value(
        "endpoint_bot_slack_ack_seconds_count"
    )
    assert acks == sum(expected_requests.values())
    assert (
        after.value("endpoint_bot_slack_ack_seconds_bucket", le="3.0")
        - before.value("endpoint_bot_slack_ack_seconds_bucket", le="3.0")
        == acks
    )

    launches = delta(
        after.labels("endpoint_bot_launches_total", "outcome"),
        before.labels("endpoint_bot_launches_total", "outcome"),
    )
    assert launches == {"created": 1, "rejected": 1}

    slack_calls = delta(
        series(after, "endpoint_bot_slack_api_calls_total", "method", "outcome"),
        series(before, "endpoint_bot_slack_api_calls_total", "method", "outcome"),
    )
    assert slack_calls["chat.postMessage ratelimited"] == 1  # counted as Slack answered it
    assert slack_calls["views.open ok"] == 4 and slack_calls["chat.postMessage ok"] >= 3
    assert (
        after.value("endpoint_bot_outbox_failures_total") - before.value("endpoint_bot_outbox_failures_total")
        == 1
    )

    together_calls = delta(
        series(after, "endpoint_bot_together_calls_total", "operation", "status"),
        series(before, "endpoint_bot_together_calls_total", "operation", "status"),
    )
    assert together_calls["endpoints.list 500"] == 1
    assert (
        together_calls["endpoints.create 200"] == 1
        or together_calls.get("endpoints.deployments.create 200") == 1
    )
    assert after.value("endpoint_bot_together_call_seconds_count") - before.value(
        "endpoint_bot_together_call_seconds_count"
    ) == sum(together_calls.values())

    ticks = after.value("endpoint_bot_tracker_tick_seconds_count") - before.value(
        "endpoint_bot_tracker_tick_seconds_count"
    )
    assert ticks >= 3
    assert abs(after.value("endpoint_bot_tracker_last_success_timestamp_seconds") - time.time()) < 60

    # The database gauges: nothing waits, one endpoint serving, and what it costs now.
    assert after.value("endpoint_bot_requests_pending") == 0
    assert after.value("endpoint_bot_outbox_pending") == 0
    assert after.value("endpoint_bot_outbox_oldest_age_seconds") == 0
    assert after.labels("endpoint_bot_endpoints", "state") == {stack.backend.started: 1}
    (launched,) = [r for r in stack.bot.store.requests() if r.status == RequestStatus.LAUNCHED]
    meter = stack.bot.launches.costs.of(launched)
    assert meter is not None and meter.hourly_now is not None
    low, high = meter.hourly_now
    assert after.labels("endpoint_bot_dollars_per_hour", "bound") == pytest.approx({"low": low, "high": high})
    assert 0 < low <= high


def test_gauges_wait_for_approval_and_for_slack(stack: Stack) -> None:
    """A request waiting for its approver and a card Slack has not taken yet show on the gauges."""
    assert stack.server is not None
    stack.fake.fail("chat.postMessage", 503, times=None)
    request_launch(stack, launch_text(stack))
    s = scrape(stack.server.url)
    assert s.value("endpoint_bot_requests_pending") == 1
    assert s.value("endpoint_bot_outbox_pending") == 1
    assert 0 <= s.value("endpoint_bot_outbox_oldest_age_seconds") < 60
    stack.fake.clear_failures()


@pytest.fixture
def gauge_engine(database_url: str) -> Iterator[Any]:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def _fill(engine: Any, endpoints: int) -> None:
    """`endpoints` launched requests, each serving with a state row, and as many queued Slack updates."""
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            insert(LaunchRequestRow),
            [
                dict(
                    id=i,
                    team_id="T1",
                    channel_id="C1",
                    requested_by="U1",
                    model="m",
                    hardware="h",
                    min_replicas=1,
                    max_replicas=3,
                    display_name=None,
                    inactive_timeout=None,
                    speculative_decoding=False,
                    prompt_cache=False,
                    start_now=True,
                    cents_per_minute=10.0,
                    status="launched",
                    message_ts=None,
                    requested_at=now,
                    launch_started_at=now,
                    launched_at=now,
                    error_code=None,
                    error_message=None,
                    updated_at=now,
                )
                for i in range(1, endpoints + 1)
            ],
        )
        connection.execute(
            insert(EndpointRow),
            [
                dict(
                    id=f"endpoint-{i}",
                    request_id=i,
                    team_id="T1",
                    name=f"e{i}",
                    model="m",
                    hardware="h",
                    state="STARTED",
                    state_changed_at=now,
                    created_at=now,
                )
                for i in range(1, endpoints + 1)
            ],
        )
        connection.execute(
            insert(EndpointStateRow),
            [
                dict(endpoint_id=f"endpoint-{i}", state=s, observed_at=now - timedelta(minutes=m))
                for i in range(1, endpoints + 1)
                for s, m in (("PENDING", 5), ("STARTED", 1))
            ],
        )
        connection.execute(
            insert(OutboxRow),
            [
                dict(
                    team_id="T1",
                    request_id=i,
                    kind="card",
                    payload={},
                    created_at=now - timedelta(seconds=90),
                    next_attempt_at=now,
                    attempts=0,
                )
                for i in range(1, endpoints + 1)
            ],
        )


@pytest.mark.parametrize("endpoints", [1, 500])
def test_a_scrape_costs_the_same_few_statements_whatever_the_number_of_endpoints(
    gauge_engine: Any, endpoints: int
) -> None:
    _fill(gauge_engine, endpoints)
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 (conn, cursor, statement, ...)
    event.listen(gauge_engine, "before_cursor_execute", listener)
    try:
        body, _ = exposition(GaugeQueries(gauge_engine))
    finally:
        event.remove(gauge_engine, "before_cursor_execute", listener)
    assert len(statements) == 4, statements  # outbox (count and oldest), pending, by state, costs
    s = Scrape(body.decode())
    assert s.value("endpoint_bot_endpoints", state="STARTED") == endpoints
    assert s.value("endpoint_bot_outbox_pending") == endpoints
    assert 85 <= s.value("endpoint_bot_outbox_oldest_age_seconds") < 150
    # 10 ¢/min per replica = $6/h, between 1 and 3 replicas (v1 does not say how many run)
    assert s.labels("endpoint_bot_dollars_per_hour", "bound") == pytest.approx(
        {"low": 6.0 * endpoints, "high": 18.0 * endpoints}
    )


# --- /readyz and /healthz -------------------------------------------------------------------------


def test_readyz_follows_the_token_revoked_after_start_and_restored(stack: Stack) -> None:
    assert stack.server is not None and stack.bot.token_health is not None
    url = stack.server.url
    stack.bot.token_health.recheck_after = 0.0  # /readyz re-asks Slack at once while the token is refused
    ready = httpx.get(url + "/readyz")
    assert ready.status_code == 200 and ready.json() == {"ok": True, "database": "ok", "slack": "ok"}

    stack.fake.revoke_token()
    stack.slack.command(REQUESTER, launch_text(stack))  # the form's views.open is answered token_revoked
    wait_until(lambda: httpx.get(url + "/readyz").status_code == 503)
    refused = httpx.get(url + "/readyz").json()
    assert refused["ok"] is False and set(refused["problems"]) == {"slack"}
    assert "token_revoked" in refused["problems"]["slack"]
    assert httpx.get(url + "/healthz").status_code == 200  # alive: a restart would not help

    stack.fake.restore_token()
    assert httpx.get(url + "/readyz").status_code == 200  # asked Slack again, which accepts it
    request_launch(stack, launch_text(stack))
    assert "Launch request #1" in stack.card().text


def test_a_periodic_check_sees_a_revoked_token_without_any_other_slack_call(stack: Stack) -> None:
    assert stack.server is not None and stack.bot.token_check is not None
    assert httpx.get(stack.server.url + "/readyz").status_code == 200
    stack.fake.revoke_token("account_inactive")
    stack.bot.token_check.run_once()  # what the loop does every 5 minutes (every 15 s while refused)
    answer = httpx.get(stack.server.url + "/readyz")
    assert answer.status_code == 503 and "account_inactive" in answer.json()["problems"]["slack"]
    assert [c.method for c in stack.fake.calls()][-1] == "auth.test"


def test_token_check_interval_is_at_most_five_minutes() -> None:
    health = TokenHealth()
    assert health.interval() <= 300
    health.saw_error("token_revoked")
    assert health.interval() <= 15


def test_readyz_and_healthz_when_the_database_cannot_be_reached() -> None:
    engine = create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 2}
    )
    health = TokenHealth()
    health.accepted()
    with ServerThread(None, Store(engine), readiness=Readiness(engine, health)) as server:
        ready = httpx.get(server.url + "/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json() == {
            "ok": False,
            "problems": {"database": "database unreachable (OperationalError)"},
        }
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 503
        metrics = httpx.get(server.url + "/metrics", timeout=10)  # the process's own counters still show
        assert metrics.status_code == 200 and "endpoint_bot_launches_total" in metrics.text
    engine.dispose()


def test_readyz_when_the_database_is_not_migrated(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    health = TokenHealth()
    health.accepted()
    with ServerThread(None, Store(engine), readiness=Readiness(engine, health)) as server:
        ready = httpx.get(server.url + "/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["problems"] == {"database": "database not migrated: run `bot migrate`"}
    engine.dispose()


# --- logs -----------------------------------------------------------------------------------------


@pytest.fixture
def json_logs() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    setup_logging("INFO", "json", [BOT_TOKEN, SIGNING_SECRET, TOGETHER_KEY], stream)

    def lines() -> list[dict[str, Any]]:
        written = stream.getvalue()
        for secret in (BOT_TOKEN, SIGNING_SECRET, TOGETHER_KEY):
            assert secret not in written
        return [json.loads(line) for line in written.splitlines()]

    yield lines
    root.handlers[:], root.level = saved


def test_json_logs_are_one_object_per_line_with_context_and_no_secret(
    stack: Stack, json_logs: Callable[[], list[dict[str, Any]]]
) -> None:
    stack.fake.fail("chat.postMessage", 429, retry_after=0)
    request_launch(stack, launch_text(stack))  # the publisher logs the 429, about request 1
    log = logging.getLogger("bot.test")
    with log_context(endpoint_id="endpoint-1", user_id=REQUESTER):
        log.warning("token %s and key %s leaked into a message", BOT_TOKEN, TOGETHER_KEY)
        try:
            raise RuntimeError(f"failed with {SIGNING_SECRET}")
        except RuntimeError:
            log.exception("with a traceback")
    entries = json_logs()
    retry = next(e for e in entries if e["logger"] == "bot.slack.publisher")
    assert retry["level"] == "WARNING" and "ratelimited" in retry["message"]
    assert retry["request_id"] == "1"
    leak, traceback = [e for e in entries if e["logger"] == "bot.test"]
    assert leak["message"] == "token [redacted] and key [redacted] leaked into a message"
    assert leak["endpoint_id"] == "endpoint-1" and leak["user_id"] == REQUESTER
    assert "RuntimeError: failed with [redacted]" in traceback["exception"]
    assert set(leak) >= {"time", "level", "logger", "message"}


def test_log_format_setting_says_what_it_accepts() -> None:
    from bot.config import ConfigError, load_settings

    assert load_settings(bot_log_format="JSON").bot_log_format == "json"
    with pytest.raises(ConfigError, match="BOT_LOG_FORMAT: .*must be text or json"):
        load_settings(bot_log_format="xml")


# --- the processes serve them ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bot_process(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TOGETHER_", "BOT_"))}
    clean.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_http(url: str, timeout: float = 90.0) -> httpx.Response:
    """The first answer at `url` (a process starting on a busy machine may take a while to listen)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            assert time.monotonic() < deadline, f"nothing answers at {url}"
            time.sleep(0.1)


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    return stderr


@pytest.mark.backend("v1", reason="how the worker process serves its metrics does not depend on the API")
def test_bot_tracker_serves_metrics_and_readiness_on_bot_metrics_port_and_logs_json(
    database_url: str, fake_slack: Any, sim_server: Any, backend: Any
) -> None:
    port = free_port()
    worker = bot_process(
        "tracker",
        env={
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": fake_slack.base_url,
            "TOGETHER_API_KEY": TOGETHER_KEY,
            "TOGETHER_BASE_URL": sim_server.url + "/v1",
            "TOGETHER_API": "v1",
            "DATABASE_URL": database_url,
            "BOT_POLL_SECONDS": "0.1",
            "BOT_POLL_IDLE_SECONDS": "0.1",
            "BOT_METRICS_PORT": str(port),
            "BOT_LOG_FORMAT": "json",
        },
    )
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_for_http(url + "/healthz").status_code == 200
        wait_until(lambda: scrape(url).value("endpoint_bot_tracker_tick_seconds_count") >= 2, timeout=30)
        wait_until(lambda: scrape(url).value("endpoint_bot_together_calls_total", status="200") >= 1)
        s = scrape(url)
        assert s.value("endpoint_bot_together_calls_total", operation="hardware.list", status="200") >= 1
        assert time.time() - s.value("endpoint_bot_tracker_last_success_timestamp_seconds") < 30
        assert s.value("endpoint_bot_requests_pending") == 0
        ready = httpx.get(url + "/readyz")
        assert ready.status_code == 200, ready.text
        assert httpx.post(url + "/slack/events").status_code in (404, 405)  # a worker serves no Slack
    finally:
        stderr = stop(worker)
    entries = [json.loads(line) for line in stderr.splitlines()]
    assert any("metrics and health on port" in e["message"] for e in entries)
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert BOT_TOKEN not in stderr and TOGETHER_KEY not in stderr


@pytest.mark.backend("v1", reason="the transport from Slack to the bot does not depend on the Together API")
def test_socket_mode_bot_run_serves_health_and_metrics_on_port(
    database_url: str, fake_slack: Any, backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(key, raising=False)
    port = free_port()
    web = bot_process(
        "run",
        "--simulate",
        env={
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": fake_slack.base_url,
            "DATABASE_URL": database_url,
            "PORT": str(port),
        },
    )
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_for_http(url + "/healthz").status_code == 200
        fake_slack.socket_mode.wait_for_connections(1)
        wait_until(lambda: httpx.get(url + "/readyz").status_code == 200, timeout=30)
        assert "endpoint_bot_slack_requests_total" in httpx.get(url + "/metrics").text
    finally:
        stop(web)


def test_several_processes_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, what each worker process counted shows in every process's scrape."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    count = "from bot import metrics; metrics.count_slack_call('chat.postMessage', 'ok'); "
    count += "metrics.count_audit_actions(['launched'])"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=120)
    show = "import sys; from pathlib import Path; from bot.exposition import exposition; "
    show += "sys.stdout.write(exposition(None, Path(sys.argv[1]))[0].decode())"
    out = subprocess.run(
        [sys.executable, "-c", show, str(shared)],
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    ).stdout
    s = Scrape(out)
    assert s.value("endpoint_bot_slack_api_calls_total", method="chat.postMessage", outcome="ok") == 2
    assert s.value("endpoint_bot_launches_total", outcome="created") == 2


def test_the_token_check_reads_slacks_answer_itself(fake_slack: Any) -> None:
    """Whatever client asks (here slack_sdk's own), the check learns from Slack's answer."""
    from slack_sdk import WebClient

    health = TokenHealth(check=WebClient(token=BOT_TOKEN, base_url=fake_slack.base_url).auth_test)
    health.recheck_after = 0.0
    assert health.problem() is None
    fake_slack.revoke_token("invalid_auth")
    health.check()
    assert health.refused == "invalid_auth" and "invalid_auth" in (health.problem() or "")
    fake_slack.restore_token()
    assert health.problem() is None  # asked again while refused, and accepted


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        ("GET", "/v1/endpoints", "endpoints.list"),
        ("POST", "/v1/endpoints", "endpoints.create"),
        ("PATCH", "/v1/endpoints/endpoint-1a2b", "endpoints.update"),
        ("GET", "/v1/hardware", "hardware.list"),
        ("POST", "/v2/projects/proj_1/endpoints/ep_1/deployments", "endpoints.deployments.create"),
        ("DELETE", "/v2/projects/proj_1/endpoints/ep_1/deployments/dep_1", "endpoints.deployments.delete"),
        ("GET", "/v2/public/inference-instance-types", "inference-instance-types.list"),
        ("GET", "/v3/whoami", "whoami.get"),
    ],
)
def test_together_operations_are_named_like_the_api_without_ids(
    method: str, path: str, operation: str
) -> None:
    from bot.metrics import together_operation

    assert together_operation(method, path) == operation
