"""Rehearsing in a real workspace: every card and every thread reply says it is simulated."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.runtime import build_bot
from bot.sandbox.driver import SlackDriver
from bot.sandbox.fake_slack import FakeSlack
from bot.server import ServerThread
from bot.slack.app import make_web_client
from bot.slack.views.card import SIMULATED_CARD_NOTE
from bot.slack.views.thread import SIMULATED_REPLY_NOTE
from tests.support.launching import approve, request_launch
from tests.support.paths import ROOT
from tests.support.stack import APPROVER, BOT_TOKEN, CHANNEL, REQUESTER, SIGNING_SECRET, Stack, make_settings

pytestmark = pytest.mark.backend(
    "v1", reason="Slack-side behaviour that does not depend on the Together API; the flow suites cover v2"
)


@pytest.fixture
def simulated_stack(database_url, fake_slack, sim, sim_server, together, clock) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    config = make_settings(database_url, fake_slack, sim_server)
    bot = build_bot(
        config, provider=together, client=make_web_client(BOT_TOKEN, fake_slack.base_url), simulated=True
    )
    server = ServerThread(bot.app, bot.store).start()
    driver = SlackDriver(fake_slack, SIGNING_SECRET, server.url + "/slack/events")
    yield Stack(bot, server, driver, fake_slack, sim, clock)
    server.stop()
    driver.close()
    bot.store.engine.dispose()


def test_every_card_and_reply_says_simulated(simulated_stack: Stack) -> None:
    stack = simulated_stack
    request_launch(stack)
    approve(stack)
    stack.advance(61)
    stack.advance(181)
    assert SIMULATED_CARD_NOTE in json.dumps(stack.card().blocks)
    thread = stack.thread()
    assert len(thread) >= 4  # approved, launched, STARTING, STARTED
    assert all(reply.rstrip().endswith(SIMULATED_REPLY_NOTE) for reply in thread)


def test_real_mode_says_nothing_of_the_kind(stack: Stack) -> None:
    request_launch(stack)
    approve(stack)
    assert "Simulated" not in json.dumps(stack.card().blocks) + "".join(stack.thread())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_simulate_needs_no_together_key_and_marks_everything(tmp_path: Path) -> None:
    port = _free_port()
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "BOT_APPROVERS": APPROVER,
            "BOT_POLL_SECONDS": "0.1",
            "PORT": str(port),
        }
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--simulate", "--speed", "1000"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    if httpx.get(url + "/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                bot.poll()
                assert bot.returncode is None, bot.communicate()
                time.sleep(0.05)
            driver = SlackDriver(fake, SIGNING_SECRET, url + "/slack/events")
            driver.command(REQUESTER, "create llama-8b a100 2-5")
            driver.wait_for_view(REQUESTER)
            assert driver.submit(REQUESTER) is None
            fake.wait_for("chat.postMessage", timeout=10)
            driver.click(APPROVER, "Approve")
            driver.wait_for_view(APPROVER)
            assert driver.submit(APPROVER) is None
            fake.wait_for(
                "chat.postMessage", lambda c: "State: *STARTED*" in str(c.params.get("text")), timeout=20
            )
            driver.close()
        finally:
            bot.terminate()
            _, stderr = bot.communicate(timeout=20)
        (card,) = fake.messages(CHANNEL)
        assert SIMULATED_CARD_NOTE in json.dumps(card.blocks)
        replies = fake.replies(CHANNEL, card.ts)
        assert replies and all(SIMULATED_REPLY_NOTE in (r.text or "") for r in replies)
    assert "simulating Together" in stderr and "Traceback" not in stderr
