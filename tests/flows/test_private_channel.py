"""Slack posts nothing where the app is not a member (a private channel, a direct message between people):
the requester learns why their card is missing and what to do, and nothing is launched."""

from __future__ import annotations

import time

from bot.sandbox.slack_types import Call
from tests.support.launching import launch_text, request_launch
from tests.support.stack import CHANNEL, REQUESTER, Stack


def dm_to_requester(call: Call) -> bool:
    return call.params.get("channel") == REQUESTER and call.response.get("ok") is True


def test_a_card_slack_will_not_post_is_explained_to_the_requester(stack: Stack) -> None:
    stack.fake.private_channel(CHANNEL)
    request_launch(stack, launch_text(stack))

    deadline = time.monotonic() + 10
    while not (dms := [c for c in stack.fake.calls("chat.postMessage") if dm_to_requester(c)]):
        assert time.monotonic() < deadline, "the requester was never told"
        stack.settle()  # the publisher tries the card again (it backs off for a few ms here), then gives up
        time.sleep(0.05)
    (call,) = dms
    text = call.params["text"]
    assert "request #1" in text and f"<#{CHANNEL}>" in text
    assert "/invite @endpoint-bot" in text and "/endpoint create llama-8b" in text
    assert "nothing was launched" in text
    assert stack.fake.messages(CHANNEL) == [] and stack.creates() == 0

    stack.fake.invite_bot(CHANNEL)  # as the message says: invite it and ask again
    request_launch(stack, launch_text(stack))
    stack.settle()
    (card,) = stack.fake.messages(CHANNEL)
    assert "#2" in str(card.blocks)
