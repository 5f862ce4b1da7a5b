"""Deploying as several processes: the Procfile's roles, `bot tracker`, and two publishers side by side."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.slack.publisher import Publisher
from bot.store import Store
from bot.store.db import make_engine
from tests.support.paths import ROOT
from tests.support.stack import APPROVER, BOT_TOKEN, CHANNEL, REQUESTER, TOGETHER_KEY, Stack

pytestmark = pytest.mark.backend(
    "v1", reason="Slack-side behaviour that does not depend on the Together API; the flow suites cover v2"
)


class SlowSlack(WebClient):
    """A Web API client whose every call takes a while, as Slack's do over a real network."""

    def api_call(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        time.sleep(0.2)
        return super().api_call(*args, **kwargs)


def submit_request(stack: Stack) -> None:
    stack.slack.command(REQUESTER, "create llama-8b a100 2-5")
    stack.slack.wait_for_view(REQUESTER)
    assert stack.slack.submit(REQUESTER) is None


def approve_without_settling(stack: Stack) -> None:
    stack.slack.click(APPROVER, "Approve")
    stack.slack.wait_for_view(APPROVER)
    assert stack.slack.submit(APPROVER) is None


def publish_concurrently(stack: Stack) -> None:
    """A web and a worker process publishing the same outbox at the same moment."""
    other = Store(make_engine(stack.bot.settings.database_url))
    publishers = [
        Publisher(store, SlowSlack(token=BOT_TOKEN, base_url=stack.fake.base_url), stack.bot.renderer)
        for store in (stack.bot.store, other)
    ]
    start = threading.Barrier(len(publishers))

    def run(publisher: Publisher) -> None:
        start.wait()
        publisher.deliver_due()

    threads = [threading.Thread(target=run, args=(p,)) for p in publishers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    other.engine.dispose()


def test_two_publishers_post_each_card_and_reply_once(stack: Stack) -> None:
    submit_request(stack)
    publish_concurrently(stack)
    assert len(stack.fake.messages(CHANNEL)) == 1

    approve_without_settling(stack)
    stack.bot.launcher.run_once()
    publish_concurrently(stack)
    publish_concurrently(stack)  # a second pass finds nothing left to deliver
    thread = stack.thread()
    assert len(thread) == 2, thread
    assert thread[0].startswith(":white_check_mark: Approved") and "Together accepted the launch" in thread[1]
    assert len(stack.fake.calls("chat.postMessage")) == 3
    assert stack.bot.store.undelivered_count() == 0


def test_procfile_splits_web_worker_and_release() -> None:
    roles = dict(
        line.split(":", 1)
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert {k: v.strip() for k, v in roles.items()} == {
        "release": "bot migrate",
        "web": "bot run --no-tracker",
        "worker": "bot tracker",
    }


def test_tracker_process_launches_an_approval_the_web_process_left_behind(stack: Stack) -> None:
    # The web process took the approval and died before launching: only the database knows.
    submit_request(stack)
    stack.bot.publishing.run_once()
    approve_without_settling(stack)
    assert stack.creates() == 0
    stack.bot.stop()  # the web process is gone (on SQLite it also had to let go of the database)

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        # no SLACK_SIGNING_SECRET: a worker serves no Slack requests
        "SLACK_API_URL": stack.fake.base_url,
        "TOGETHER_API_KEY": TOGETHER_KEY,
        "TOGETHER_BASE_URL": stack.bot.settings.together_base_url,
        "TOGETHER_API": "v1",  # the simulator also serves v2; this stack launched on v1
        "DATABASE_URL": stack.bot.settings.database_url,
        "BOT_APPROVERS": ",".join(stack.bot.settings.approvers),
        "BOT_POLL_SECONDS": "0.1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "tracker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stack.fake.wait_for(
            "chat.postMessage",
            lambda c: "Together accepted the launch" in str(c.params.get("text")),
            timeout=20,
        )
        assert stack.creates() == 1
        stack.clock.advance(61)  # the worker also follows the endpoint's state
        stack.fake.wait_for(
            "chat.postMessage", lambda c: "State: *STARTING*" in str(c.params.get("text")), timeout=20
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=20)
    assert worker.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert stack.creates() == 1
