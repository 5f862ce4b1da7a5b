"""The `bot` command as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.cli import run_bot
from tests.support.launching import approve, request_launch
from tests.support.stack import APPROVER, REQUESTER, SIGNING_SECRET, TOGETHER_KEY, Stack

pytestmark = pytest.mark.backend(
    "v1", reason="Slack-side behaviour that does not depend on the Together API; the flow suites cover v2"
)


def test_run_names_every_missing_setting(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run_bot("run", env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "SLACK_BOT_TOKEN": "xoxb-1"})
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr and "TOGETHER_API_KEY" in result.stderr
    assert "SLACK_BOT_TOKEN" not in result.stderr.split("setting")[1]
    assert "Traceback" not in result.stderr


def test_invalid_setting_is_named_without_its_value(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run_bot("audit", env={"BOT_POLL_SECONDS": "soon", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert result.returncode == 2 and "BOT_POLL_SECONDS" in result.stderr and "Traceback" not in result.stderr


def test_audit_json_and_table(stack: Stack) -> None:
    request_launch(stack)
    approve(stack)
    url = stack.bot.settings.database_url
    result = run_bot("audit", "--json", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["requested_by"] == REQUESTER and row["approved_by"] == APPROVER
    assert row["state"] == "PENDING" and row["endpoint_id"].startswith("endpoint-")
    for key in (
        "request_id",
        "rejected_by",
        "model",
        "hardware",
        "min_replicas",
        "max_replicas",
        "requested_at",
        "approved_at",
        "events",
    ):
        assert key in row
    table = run_bot("audit", env={"DATABASE_URL": url})
    assert table.returncode == 0 and REQUESTER in table.stdout and "PENDING" in table.stdout
    assert SIGNING_SECRET not in table.stdout + result.stdout and TOGETHER_KEY not in result.stdout


def test_audit_on_an_empty_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run_bot("audit", "--json", env={"DATABASE_URL": f"sqlite:///{tmp_path}/new.db"})
    assert result.returncode == 0 and json.loads(result.stdout) == []


def test_reading_commands_on_a_missing_database_say_there_is_no_record_and_create_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    database = tmp_path / "endpoint-bot.db"
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    for command in ("audit", "spend"):
        result = run_bot(command, env=env)
        assert result.returncode == 0, result.stderr
        assert "No record yet: the bot has not used sqlite:///" in result.stdout
        assert "Traceback" not in result.stderr
    # With --json the shape stays what scripts read, empty; the note goes beside it.
    listed = run_bot("audit", "--json", env=env)
    assert json.loads(listed.stdout) == [] and "No record yet" in listed.stderr
    spent = run_bot("spend", "--json", env=env)
    assert json.loads(spent.stdout)["endpoints"] == [] and "No record yet" in spent.stderr
    assert not database.exists() and list(tmp_path.iterdir()) == []


def test_bot_alone_prints_the_command_list() -> None:
    result = run_bot()
    assert result.returncode == 0, result.stderr
    for command in ("shell", "run", "doctor", "audit", "manifest"):
        assert f"\n    {command} " in result.stdout
    assert "required" not in result.stdout + result.stderr


def test_manifest_without_url_says_it_used_a_placeholder() -> None:
    result = run_bot("manifest")
    assert result.returncode == 0
    assert "https://bot.example.com/slack/events" in result.stdout
    assert "no --url given, so the Request URLs are the placeholder" in result.stderr
    quiet = run_bot("manifest", "--url", "https://bot.example.org")
    assert quiet.returncode == 0 and quiet.stderr == ""


def _into_closed_pipe(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run `bot ARGS` with its standard output a pipe whose reader has already gone."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TOGETHER_", "DATABASE_URL"))}
    clean.update(env)
    read, write = os.pipe()
    os.close(read)  # the reader left before the bot wrote a byte: every write meets EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=clean,
            timeout=60,
        )
    finally:
        os.close(write)
    return done.returncode, done.stderr


@pytest.mark.parametrize("command", [["audit"], ["audit", "--json"], ["spend"], ["spend", "--json"]])
def test_output_into_a_closed_pipe_exits_quietly(stack: Stack, command: list[str]) -> None:
    request_launch(stack)
    approve(stack)
    code, stderr = _into_closed_pipe(*command, env={"DATABASE_URL": stack.bot.settings.database_url})
    assert (code, stderr) == (0, "")


@pytest.mark.parametrize("command", ["audit", "spend"])
def test_output_piped_into_head_exits_quietly(stack: Stack, command: str) -> None:
    request_launch(stack)
    approve(stack)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TOGETHER_", "DATABASE_URL"))}
    clean["DATABASE_URL"] = stack.bot.settings.database_url
    # The first line is read, then head exits; with pipefail the bot's own exit status is the pipeline's.
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f'"{sys.executable}" -m bot.cli {command} | head -1'],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr == ""
    assert len(done.stdout.splitlines()) == 1
