"""`bot run` starts, or says in one line why it cannot, with what to do: exit status 2 and no traceback."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys

import pytest

from bot.sandbox.fake_slack import FakeSlack
from tests.support.stack import BOT_TOKEN, SIGNING_SECRET, build_stack_bot, provider_for

pytestmark = pytest.mark.backend("v1", reason="start-up does not depend on the Together API")


def closed_port() -> int:
    """A local port nothing listens on (taken, then released): connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bot_run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TOGETHER_", "DATABASE_URL"))}
    clean.update({"SLACK_SIGNING_SECRET": SIGNING_SECRET, "PORT": str(closed_port()), **env})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--simulate"],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for part in expected:
        assert part in lines[0], lines[0]
    for secret in (SIGNING_SECRET, BOT_TOKEN, "xoxb-revoked-or-mistyped"):
        assert secret not in result.stderr + result.stdout
    return lines[0]


def test_a_bot_token_slack_refuses(fake_slack: FakeSlack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = bot_run(
        {
            "SLACK_BOT_TOKEN": "xoxb-revoked-or-mistyped",
            "SLACK_API_URL": fake_slack.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        }
    )
    line = assert_one_line(result, "Slack refused the token (invalid_auth)", "OAuth & Permissions")
    assert line.startswith("bot: slack:")
    assert [c.method for c in fake_slack.calls()] == ["auth.test"]  # nothing else was tried


def test_no_network_to_slack(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = bot_run(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": f"http://127.0.0.1:{closed_port()}/api/",
            "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        }
    )
    assert_one_line(result, "could not reach Slack", "check the network and SLACK_API_URL")


def test_a_wrong_app_token(fake_slack: FakeSlack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = bot_run(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": "xapp-1-A0SIM-1-revoked",
            "SLACK_API_URL": fake_slack.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        }
    )
    assert_one_line(result, "Slack refused SLACK_APP_TOKEN (invalid_auth)", "connections:write")
    assert fake_slack.socket_mode.connections() == []


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://bot:secret-pw@127.0.0.1:{closed_port()}/bot",
        "sqlite:////no/such/folder/bot.db",
    ],
    ids=["postgres-down", "sqlite-no-folder"],
)
def test_an_unreachable_database(fake_slack: FakeSlack, url: str) -> None:
    result = bot_run(
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake_slack.base_url, "DATABASE_URL": url}
    )
    line = assert_one_line(result, "database:", "check DATABASE_URL")
    assert "secret-pw" not in line
    assert fake_slack.calls() == []  # the database is checked first: nothing reached Slack


def test_bolt_does_not_warn_about_the_token_at_start(
    database_url, fake_slack, sim, sim_server, clock, backend, monkeypatch, caplog
) -> None:  # type: ignore[no-untyped-def]
    # In production the bot token is in the environment, where Bolt looks for it too.
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    provider = provider_for(backend, sim, sim_server, clock)
    with caplog.at_level(logging.WARNING):
        bot = build_stack_bot(database_url, fake_slack, sim, sim_server, provider, backend)
    try:
        assert [r.getMessage() for r in caplog.records if r.name.startswith("slack_bolt")] == []
        assert os.environ["SLACK_BOT_TOKEN"] == BOT_TOKEN  # given back after the app was built
    finally:
        bot.stop()
        bot.store.engine.dispose()
        provider.close()
