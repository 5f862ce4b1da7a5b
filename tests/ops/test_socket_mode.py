"""Socket Mode end to end: the real bot, connected by slack_sdk's own Socket Mode client (what `bot run` uses
when SLACK_APP_TOKEN is set) to the fake Slack's Socket Mode (tests/support/socket_mode.py), driven by
the same steps as the HTTP tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.sandbox.fake_slack import FakeSlack
from bot.slack.ids import Block
from tests.support.cli import run_bot
from tests.support.launching import approve, launch_text, states
from tests.support.socket_mode import driver_over_socket_mode
from tests.support.stack import (
    APP_TOKEN,
    APPROVER,
    BOT_TOKEN,
    REQUESTER,
    SIGNING_SECRET,
    Stack,
    build_stack_bot,
    provider_for,
)

pytestmark = pytest.mark.backend(
    "v1", reason="the transport from Slack to the bot does not depend on the Together API"
)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk's Socket Mode client takes a proxy from the environment; the fake is local."""
    for key in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(key, raising=False)


def connect(stack_bot, app_token: str = APP_TOKEN, **options: object) -> SocketModeHandler:  # type: ignore[no-untyped-def]
    handler = SocketModeHandler(stack_bot.app, app_token, **options)  # type: ignore[arg-type]
    handler.connect()  # what `bot run` does, without blocking
    return handler


def disconnect(handler: SocketModeHandler, fake: FakeSlack) -> None:
    """Close the client for good, as `bot run` does on exit. The fake drops the socket first: the client's
    reader waits in a receive with a 3 s timeout, which only the peer closing ends sooner."""
    handler.client.auto_reconnect_enabled = handler.client.default_auto_reconnect_enabled = False
    fake.socket_mode.stop()
    handler.close()


@pytest.fixture
def socket_stack(
    database_url, fake_slack, sim, sim_server, clock, backend
) -> Iterator[tuple[Stack, SocketModeHandler]]:  # type: ignore[no-untyped-def]
    """The whole bot, no HTTP server: Slack reaches it only over the Socket Mode connection it opens."""
    provider = provider_for(backend, sim, sim_server, clock)
    bot = build_stack_bot(database_url, fake_slack, sim, sim_server, provider, backend)
    handler = connect(bot)
    fake_slack.socket_mode.wait_for_connections(1)
    driver = driver_over_socket_mode(fake_slack)
    yield Stack(bot, None, driver, fake_slack, sim, clock, backend), handler
    disconnect(handler, fake_slack)
    bot.stop()
    driver.close()
    bot.store.engine.dispose()
    provider.close()


def assert_every_envelope_acked_once(fake: FakeSlack) -> None:
    sent = [e.envelope_id for e in fake.socket_mode.envelopes()]
    acked = [a.envelope_id for a in fake.socket_mode.acks()]
    assert sorted(acked) == sorted(sent), "each envelope is acknowledged exactly once"
    assert fake.socket_mode.unexpected_messages() == []


def test_whole_launch_over_socket_mode(socket_stack: tuple[Stack, SocketModeHandler]) -> None:
    stack, _handler = socket_stack
    fake = stack.fake
    hello = fake.socket_mode.connections()
    assert len(hello) == 1 and hello[0]["open"]

    stack.slack.command(REQUESTER, launch_text(stack))  # a DriverError unless acked within Slack's 3 s
    (command,) = fake.socket_mode.envelopes()
    assert command.type == "slash_commands" and command.accepts_response_payload
    assert command.payload["command"] == "/endpoint" and command.payload["user_id"] == REQUESTER
    view = stack.slack.wait_for_view(REQUESTER)
    assert view["title"]["text"] == "Launch an endpoint"
    assert fake.calls("views.open") and fake.calls("views.open")[0].ok

    assert stack.slack.submit(REQUESTER) is None  # the ack closed the form
    submission = fake.socket_mode.envelopes()[-1]
    assert submission.type == "interactive" and submission.payload["type"] == "view_submission"
    stack.settle()
    assert "Launch request #1" in stack.card().text
    assert stack.creates() == 0

    approve(stack, APPROVER)  # click Approve (block_actions), then submit the approval form
    assert stack.creates() == 1
    assert any(e.payload.get("type") == "block_actions" for e in fake.socket_mode.envelopes())
    stack.start()
    assert states(stack) == list(stack.backend.start_states)
    assert stack.creates() == 1
    assert_every_envelope_acked_once(fake)


def test_form_errors_come_back_in_the_ack(socket_stack: tuple[Stack, SocketModeHandler]) -> None:
    """A view_submission's answer (`response_action: errors`) travels in the ack's payload."""
    stack, _handler = socket_stack
    stack.slack.command(REQUESTER, launch_text(stack))
    stack.slack.wait_for_view(REQUESTER)
    stack.slack.set(REQUESTER, Block.MIN_REPLICAS, "6")  # dispatches a block action: the form re-quotes
    errors = stack.slack.submit(REQUESTER)
    assert errors is not None and "larger than the maximum" in errors[Block.MAX_REPLICAS]
    ack = stack.fake.socket_mode.acks()[-1]
    assert ack.payload is not None and ack.payload["response_action"] == "errors"
    assert stack.fake.messages("C0LAUNCH") == []


def test_the_bot_reconnects_when_slack_refreshes_the_connection(
    socket_stack: tuple[Stack, SocketModeHandler],
) -> None:
    stack, _handler = socket_stack
    socket = stack.fake.socket_mode
    stack.slack.command(REQUESTER, launch_text(stack))
    stack.slack.wait_for_view(REQUESTER)

    (old,) = socket.refresh("refresh_requested")  # Slack's `disconnect` message, then it closes the socket
    socket.wait_for_connections(2)
    socket.wait_until_closed(old)
    assert [c["open"] for c in socket.connections()] == [False, True]

    assert stack.slack.submit(REQUESTER) is None  # over the new connection
    assert socket.envelopes()[-1].connection == 2
    stack.settle()
    approve(stack, APPROVER)
    assert stack.creates() == 1
    assert_every_envelope_acked_once(stack.fake)


def test_the_bot_reconnects_when_slack_closes_the_socket(
    database_url, fake_slack, sim, sim_server, clock, backend
) -> None:  # type: ignore[no-untyped-def]
    """A close frame with no warning: the client notices on its next state check (every ping_interval
    seconds, 10 by default; shortened here to keep the test quick) and opens a new connection."""
    provider = provider_for(backend, sim, sim_server, clock)
    bot = build_stack_bot(database_url, fake_slack, sim, sim_server, provider, backend)
    handler = connect(bot, ping_interval=1)
    driver = driver_over_socket_mode(fake_slack)
    try:
        fake_slack.socket_mode.wait_for_connections(1)
        fake_slack.socket_mode.close_connections()
        fake_slack.socket_mode.wait_for_connections(2)
        stack = Stack(bot, None, driver, fake_slack, sim, clock, backend)
        driver.command(REQUESTER, launch_text(stack))
        assert driver.wait_for_view(REQUESTER)["title"]["text"] == "Launch an endpoint"
    finally:
        disconnect(handler, fake_slack)
        bot.stop()
        driver.close()
        bot.store.engine.dispose()
        provider.close()


def test_apps_connections_open_wants_the_app_level_token(fake_slack: FakeSlack) -> None:
    from slack_sdk import WebClient

    client = WebClient(base_url=fake_slack.base_url)
    assert client.apps_connections_open(app_token=APP_TOKEN)["url"].startswith(
        f"ws://127.0.0.1:{fake_slack.port}/link/?ticket="
    )
    for token, error in [
        (BOT_TOKEN, "not_allowed_token_type"),
        ("xapp-1-A0SIM-1-some-other-app", "invalid_auth"),
    ]:
        with pytest.raises(SlackApiError) as refused:
            client.apps_connections_open(app_token=token)
        assert refused.value.response["error"] == error
    # The token as a POST parameter: Slack wants it in the Authorization header for this method.
    body = httpx.post(fake_slack.base_url + "apps.connections.open", data={"token": APP_TOKEN}).json()
    assert body == {"ok": False, "error": "invalid_auth"}
    assert httpx.post(fake_slack.base_url + "apps.connections.open").json()["error"] == "not_authed"


def test_a_bot_token_as_app_token_is_refused(
    database_url, fake_slack, sim, sim_server, clock, backend
) -> None:  # type: ignore[no-untyped-def]
    provider = provider_for(backend, sim, sim_server, clock)
    bot = build_stack_bot(database_url, fake_slack, sim, sim_server, provider, backend)
    handler = SocketModeHandler(bot.app, BOT_TOKEN)
    try:
        with pytest.raises(SlackApiError) as refused:
            handler.connect()
        assert refused.value.response["error"] == "not_allowed_token_type"
        assert fake_slack.socket_mode.connections() == []
    finally:
        handler.close()
        bot.stop()
        bot.store.engine.dispose()
        provider.close()


@pytest.mark.parametrize(
    ("app_token", "expected"),
    [
        (BOT_TOKEN, "SLACK_APP_TOKEN is a bot token (xoxb-…)"),
        ("xapp-1-A0SIM-1-revoked-or-mistyped", "Slack refused SLACK_APP_TOKEN (invalid_auth)"),
    ],
    ids=["bot-token", "wrong-app-token"],
)
def test_bot_run_stops_with_a_clear_message_on_a_wrong_app_token(
    fake_slack: FakeSlack, tmp_path, app_token: str, expected: str
) -> None:  # type: ignore[no-untyped-def]
    result = run_bot(
        "run",
        "--simulate",
        env={
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_APP_TOKEN": app_token,
            "SLACK_API_URL": fake_slack.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        },
    )
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "connections:write" in result.stderr
    assert "Traceback" not in result.stderr and app_token not in result.stderr + result.stdout
    assert fake_slack.socket_mode.connections() == []


def test_doctor_checks_the_app_token(fake_slack: FakeSlack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
    }
    good = run_bot("doctor", env={**env, "SLACK_APP_TOKEN": APP_TOKEN})
    assert "ok    socket    app-level token works" in good.stdout, good.stdout
    wrong = run_bot("doctor", env={**env, "SLACK_APP_TOKEN": "xapp-1-A0SIM-1-revoked"})
    assert "FAIL  socket    Slack refused SLACK_APP_TOKEN (invalid_auth)" in wrong.stdout, wrong.stdout
    assert "xapp-1-A0SIM-1-revoked" not in wrong.stdout
