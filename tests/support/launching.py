"""Launching through Slack as people do: the create command, the form, an approval; and requests sent at
the same moment."""

from __future__ import annotations

import threading

from bot.slack.ids import Block
from tests.support.stack import APPROVER, REQUESTER, Stack

LLAMA_8B = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
A100 = "1x_nvidia_a100_80gb_sxm"


def request_launch(stack: Stack, text: str = "create llama-8b a100 2-5", user: str = REQUESTER) -> dict:
    stack.slack.command(user, text)
    view = stack.slack.wait_for_view(user)
    assert stack.slack.submit(user) is None
    stack.settle()
    return view


def launch_text(stack: Stack, replicas: str = "2-5") -> str:
    """The create command on hardware the stack's Together API offers."""
    return f"create llama-8b {stack.backend.hardware} {replicas}"


def states(stack: Stack) -> list[str]:
    return [t.split("*")[1] for t in stack.thread() if "State: *" in t]


def approve(stack: Stack, user: str = APPROVER, note: str | None = None) -> None:
    stack.slack.click(user, "Approve")
    stack.slack.wait_for_view(user)
    if note:
        stack.slack.set(user, Block.NOTE, note)
    assert stack.slack.submit(user) is None
    stack.settle()


def post_at_once(stack: Stack, requests: list) -> list[str]:  # type: ignore[type-arg]
    """Send signed Slack requests to the bot all at the same moment (a thread each); their answers' bodies."""
    results: list[str] = []
    barrier = threading.Barrier(len(requests))

    def send(req) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        results.append(req.post(stack.server.url + "/slack/events").text)

    threads = [threading.Thread(target=send, args=(r,)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
