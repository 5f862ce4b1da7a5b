"""Who may do what (docs/policy.md, "Who may do what"), row by row, through signed Slack requests on both
Together APIs. The file's tiers name their own approvers, so its top-level approvers (and BOT_APPROVERS,
added to them) approve nothing and get no rights over endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.launching import request_launch
from tests.support.lifecycle import answer, ask_to_confirm, deletes, launch, patches, submit_and_read
from tests.support.stack import ADMIN, APPROVER, BYSTANDER, REQUESTER, Stack, policy_settings

LEAD = "ULEADONE"
POLICY = f"""
approvers = ["{APPROVER}"]

[[tiers]]
name = "all"
approvers = ["{LEAD}"]
"""


@pytest.fixture
def stack_settings(tmp_path: Path) -> dict[str, object]:
    return policy_settings(tmp_path, POLICY)


def clicked(stack: Stack, user: str, label: str) -> str | None:
    """Click a button on the card: what `user` was told privately, or None if a dialog opened."""
    before = len(stack.fake.ephemerals(user))
    stack.slack.click(user, label)
    if len(stack.fake.ephemerals(user)) > before:
        return stack.fake.ephemerals(user)[-1].text
    stack.slack.cancel(user)
    return None


def test_approve_and_reject_belong_to_the_tiers_approvers_only(stack: Stack) -> None:
    request_launch(stack, f"create llama-8b {stack.backend.hardware} 1")
    for user in (REQUESTER, APPROVER, BYSTANDER, ADMIN):
        refused = clicked(stack, user, "Approve")
        assert refused is not None and refused.startswith("You clicked Approve"), (user, refused)
        assert f"<@{LEAD}>" in refused
    for user in (APPROVER, BYSTANDER):
        refused = clicked(stack, user, "Reject")
        assert refused is not None and refused.startswith("You clicked Reject"), (user, refused)
    assert clicked(stack, LEAD, "Approve") is None and clicked(stack, LEAD, "Reject") is None


def test_only_the_requester_withdraws(stack: Stack) -> None:
    request_launch(stack, f"create llama-8b {stack.backend.hardware} 1")
    refused = clicked(stack, LEAD, "Withdraw")
    assert refused is not None and f"only <@{REQUESTER}>, who asked for it, can withdraw it" in refused
    told = clicked(stack, REQUESTER, "Withdraw")
    assert told == "You withdrew your launch request #1. Nothing was done at Together."
    stack.settle()
    (request,) = stack.bot.store.requests()
    assert request.status.value == "withdrawn"
    assert "approve_request" not in str(stack.card().blocks) and "Withdrawn by" in str(stack.card().blocks)
    assert any("withdrew the launch request" in t for t in stack.thread())


@pytest.mark.parametrize("user", [REQUESTER, LEAD, ADMIN])
def test_requester_tier_approvers_and_admins_may_scale_and_time_out(stack: Stack, user: str) -> None:
    launch(stack, f"create llama-8b {stack.backend.hardware} 1-2", approver=LEAD, started=False)
    before = len(patches(stack))
    answer(stack, user, "scale llama-8b-r1 1", "now runs 1 replica")
    answer(stack, user, f"timeout llama-8b-r1 {max(45, stack.backend.min_auto_stop)}", "idle minutes")
    assert len(patches(stack)) == before + 2


@pytest.mark.parametrize("user", [APPROVER, BYSTANDER])
def test_top_level_approvers_of_tiers_with_their_own_and_bystanders_run_nothing(
    stack: Stack, user: str
) -> None:
    launch(stack, f"create llama-8b {stack.backend.hardware} 1-2", approver=LEAD)
    before = len(patches(stack))
    who = f"Only the person who asked for it (<@{REQUESTER}>), approvers (<@{LEAD}>) or admins (<@{ADMIN}>)"
    for command, verb in (("stop", "stop"), ("start", "start"), ("scale llama-8b-r1 1", "scale")):
        ref = command if " " in command else f"{command} llama-8b-r1"
        assert answer(stack, user, ref).startswith(f"{who} can {verb} `llama-8b-r1`.")
    refused = answer(stack, user, "delete llama-8b-r1")
    assert refused.startswith(f"Only approvers (<@{LEAD}>) or admins (<@{ADMIN}>) can delete `llama-8b-r1`.")
    assert len(patches(stack)) == before and deletes(stack) == 0


@pytest.mark.parametrize(("user", "allowed"), [(REQUESTER, False), (LEAD, True), (ADMIN, True)])
def test_delete_is_for_tier_approvers_and_admins(stack: Stack, user: str, allowed: bool) -> None:
    launch(stack, f"create llama-8b {stack.backend.hardware} 1", approver=LEAD, started=False)
    if not allowed:
        assert answer(stack, user, "delete llama-8b-r1").startswith(f"Only approvers (<@{LEAD}>)")
        return
    ask_to_confirm(stack, user, "delete llama-8b-r1")
    told = submit_and_read(stack, user, "llama-8b-r1")
    assert "Only" not in told
    stack.advance(60)  # v2 stops an endpoint before it deletes it
    assert deletes(stack) >= 1
