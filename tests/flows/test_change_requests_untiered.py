"""Change requests without cost tiers: `BOT_APPROVERS` is the one tier, so a scale-up beyond the most a
launch was approved for waits for one approval, unless BOT_SCALE_WITHOUT_APPROVAL=1. Both Together APIs."""

from __future__ import annotations

import pytest

from tests.support.lifecycle import answer, changes, launch
from tests.support.stack import APPROVER, BYSTANDER, CHANNEL, REQUESTER, Stack


def started(stack: Stack) -> None:
    launch(stack, f"create llama-8b {stack.backend.hardware} 1-2 timeout=0")  # approved: $10.80/h at max
    stack.settle()


def change_cards(stack: Stack) -> list[str]:
    return [m.text or "" for m in stack.fake.broadcasts(CHANNEL) if "Change request #" in (m.text or "")]


def test_a_scale_up_beyond_what_was_approved_needs_one_approval(stack: Stack) -> None:
    started(stack)
    before = len(changes(stack))
    told = answer(stack, REQUESTER, "scale llama-8b-r1 1-3", "change request")
    assert "raises its cost to $16.20/h at max replicas (now $10.80/h)" in told
    assert "needs 1 approval from" in told and "tier" not in told
    stack.settle()
    assert len(changes(stack)) == before and len(change_cards(stack)) == 1
    assert "now runs 1–2 replicas" not in told
    before_view = len(stack.fake.ephemerals(BYSTANDER))
    stack.slack.click(BYSTANDER, "Approve")
    refused = stack.slack.wait_for_ephemeral(BYSTANDER, "You clicked Approve", after=before_view)
    assert "only approvers can approve or reject a change" in refused
    stack.slack.click(APPROVER, "Approve")
    stack.slack.wait_for_view(APPROVER)
    assert stack.slack.submit(APPROVER) is None
    stack.settle()
    stack.bot.launches.launch_approved()
    stack.settle()
    assert len(changes(stack)) == before + 1
    # approved up to 3: back down and up again within it needs nobody
    assert "now runs 1–2 replicas" in answer(stack, REQUESTER, "scale llama-8b-r1 1-2", "now runs")
    assert "now runs 1–3 replicas" in answer(stack, REQUESTER, "scale llama-8b-r1 1-3", "now runs")


@pytest.fixture
def stack_settings(request: pytest.FixtureRequest) -> dict[str, object]:
    """BOT_SCALE_WITHOUT_APPROVAL=1 for the test named after it."""
    return {"bot_scale_without_approval": True} if "bot_scale_without_approval" in request.node.name else {}


def test_bot_scale_without_approval_lets_a_scale_up_through(stack: Stack) -> None:
    started(stack)
    before = len(changes(stack))
    assert "now runs 1–3 replicas" in answer(stack, REQUESTER, "scale llama-8b-r1 1-3", "now runs")
    assert len(changes(stack)) == before + 1 and not change_cards(stack)


@pytest.mark.backend(
    "v1", reason="the console change is made on the v1 simulator's record; the rule is the same"
)
def test_a_start_whose_range_grew_outside_the_bot_waits_for_approval(stack: Stack) -> None:
    endpoint = launch(stack, f"create llama-8b {stack.backend.hardware} 1-2 timeout=0")
    stack.force_state(endpoint["id"], "STOPPED")
    stack.advance(1)
    with stack.sim._lock:  # someone raised the range in Together's console while it was stopped
        stack.sim.v1.store[endpoint["id"]].max_replicas = 4
    assert "Cost so far" in answer(stack, REQUESTER, "status llama-8b-r1", "Cost so far")  # noticed
    before = len(changes(stack))
    told = answer(stack, REQUESTER, "start llama-8b-r1", "change request")
    assert told.startswith("Starting `llama-8b-r1` at 1–4 replicas raises its cost to $21.60/h at max")
    stack.settle()
    assert len(changes(stack)) == before and len(change_cards(stack)) == 1
    stack.slack.click(APPROVER, "Approve")
    stack.slack.wait_for_view(APPROVER)
    assert stack.slack.submit(APPROVER) is None
    stack.settle()
    assert len(changes(stack)) == before + 1  # the one start
    assert stack.endpoints()[endpoint["id"]]["state"] in stack.backend.start_states
