"""manifest.yml and `bot manifest`: the Slack app the code needs, no more, in both modes."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import yaml

from bot.slack.ids import COMMAND
from tests.support.paths import ROOT

# Slack Web API methods and the bot scope each needs; views.* need none (they ride on a trigger_id).
HISTORY = ("channels:history", "groups:history")
SCOPES_BY_METHOD: dict[str, tuple[str, ...]] = {
    "chat_postMessage": ("chat:write",),
    "chat_update": ("chat:write",),
    "chat_postEphemeral": ("chat:write",),
    "chat_getPermalink": (),
    "views_open": (),
    "views_update": (),
    "views_publish": (),
    "conversations_history": HISTORY,  # checking for an update already posted before posting it again
    "conversations_replies": HISTORY,
    "conversations_open": ("im:write",),  # the DM the spend chart goes to
    "files_upload_v2": ("files:write",),  # the spend chart and CSV
    "users_info": ("users:read",),  # people's names on the chart
    "conversations_info": ("channels:read", "groups:read"),  # channels' names on the chart
}


def bot_manifest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "manifest", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )


def web_api_calls_in_the_code() -> set[str]:
    calls = set()
    for path in (ROOT / "bot").rglob("*.py"):
        if "testing" in path.parts:
            continue
        calls |= set(
            re.findall(
                r"client\.(chat_\w+|views_\w+|users_\w+|conversations_\w+|reactions_\w+|files_\w+)\(",
                path.read_text(),
            )
        )
    return calls


def test_manifest_names_the_command_interactivity_and_the_scopes_the_code_uses() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND and command["url"].endswith("/slack/events")
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["settings"]["socket_mode_enabled"] is False

    calls = web_api_calls_in_the_code()
    assert calls and calls <= set(SCOPES_BY_METHOD), f"add the scope for {calls - set(SCOPES_BY_METHOD)}"
    needed = {"commands", "chat:write.public"} | {s for c in calls for s in SCOPES_BY_METHOD[c]}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed


def test_bot_manifest_fills_in_the_url() -> None:
    result = bot_manifest("--url", "https://endpoints.example.org")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load(result.stdout)
    assert manifest["features"]["slash_commands"][0]["url"] == "https://endpoints.example.org/slack/events"
    assert (
        manifest["settings"]["interactivity"]["message_menu_options_url"]
        == "https://endpoints.example.org/slack/events"
    )
    assert (
        manifest["settings"]["interactivity"]["request_url"] == "https://endpoints.example.org/slack/events"
    )
    assert "bot.example.com" not in result.stdout
    assert "# Two ways for Slack to reach the bot" in result.stdout  # the explanations come along


def test_bot_manifest_socket_mode_variant_has_no_urls() -> None:
    result = bot_manifest("--socket-mode")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load(result.stdout)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "url" not in manifest["features"]["slash_commands"][0]
    assert "request_url" not in manifest["settings"]["interactivity"]
    assert "message_menu_options_url" not in manifest["settings"]["interactivity"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]


def test_bot_manifest_refuses_a_url_slack_cannot_call() -> None:
    result = bot_manifest("--url", "http://localhost:3000")
    assert result.returncode == 2 and "https://" in result.stderr and "Traceback" not in result.stderr
