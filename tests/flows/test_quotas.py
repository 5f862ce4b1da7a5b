"""How many endpoints may run at once ([limits] max_running_per_person and max_running_total), through Slack."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.lifecycle import answer, ask_to_confirm, launch, submit_and_read
from tests.support.stack import ADMIN, APPROVER, APPROVER_2, BYSTANDER, REQUESTER, Stack, policy_settings

POLICY = f"""
approvers = ["{APPROVER}", "{APPROVER_2}"]
admins = ["{ADMIN}"]

[limits]
max_running_per_person = 1
max_running_total = 2
"""


@pytest.fixture
def stack_settings(tmp_path: Path) -> dict[str, object]:
    return policy_settings(tmp_path, POLICY)


def refused(stack: Stack, user: str, text: str) -> str:
    told = answer(stack, user, text)
    assert stack.slack.view(user) is None, "no form should open"
    return told


def stop(stack: Stack, user: str, ref: str) -> None:
    ask_to_confirm(stack, user, f"stop {ref}")
    submit_and_read(stack, user, "Stopping")
    stack.advance(60)


def test_running_endpoints_are_limited_per_person_and_in_all(stack: Stack) -> None:
    launch(stack)  # #1, the requester's one running endpoint
    told = refused(stack, REQUESTER, "create llama-8b h100 1")
    assert told.startswith(
        f"<@{REQUESTER}> already has 1 endpoint running or starting (`llama-8b-r1`), the most the policy "
        "allows a person (max_running_per_person = 1). A new launch can't be asked for until one is "
        "stopped or deleted"
    )

    launch(stack, user=BYSTANDER)  # #2: someone else may; now two run in all
    told = refused(stack, ADMIN, "create llama-8b h100 1")
    assert told.startswith(
        "2 endpoints launched through the bot are running or starting, the most the policy allows "
        "(max_running_total = 2). A new launch can't be asked for"
    )

    stop(stack, REQUESTER, "llama-8b-r1")  # a stopped endpoint costs nothing and does not count
    launch(stack)  # #3, the requester's again
    told = refused(stack, REQUESTER, "start llama-8b-r1")
    assert "already has 1 endpoint running or starting (`llama-8b-r3`)" in told
    assert "`llama-8b-r1` can't be started until one is stopped or deleted" in told
    assert stack.creates() == 3


def test_an_approval_that_would_pass_the_limit_is_refused(stack: Stack) -> None:
    stack.slack.command(REQUESTER, "create llama-8b h100 1")  # asked while nothing runs
    stack.slack.wait_for_view(REQUESTER)
    assert stack.slack.submit(REQUESTER) is None
    stack.settle()
    launch(stack, "create llama-8b h100 2-5", user=REQUESTER, approver=APPROVER_2)
    # ^ approving the second request clicks the newest card; the first still waits
    before = len(stack.fake.ephemerals(APPROVER))
    stack.slack.click(APPROVER, "Approve")
    told = stack.slack.wait_for_ephemeral(APPROVER, "max_running_per_person", after=before)
    assert "This launch can't be approved until one is stopped or deleted" in told
    assert stack.creates() == 1
