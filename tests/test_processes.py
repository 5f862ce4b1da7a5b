"""Deploying as several processes: two publishers side by side."""

from __future__ import annotations

import threading
import time
from typing import Any

from slack_sdk import WebClient

from bot.slack.publisher import Publisher
from bot.store.db import make_engine
from bot.store.store import Store
from tests.conftest import (
    APPROVER,
    BOT_TOKEN,
    CHANNEL,
    REQUESTER,
    Stack,
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
