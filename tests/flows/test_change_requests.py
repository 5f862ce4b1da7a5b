"""Change requests through Slack, on both Together APIs: a scale (or start) whose cost at max replicas
falls in a tier the launch was not approved in waits for that tier's approvals, then patches once.

h100 costs $5.40/h a replica on both APIs: 1-3 replicas ($16.20/h at max) is tier small (one approval),
1-4 ($21.60/h) is tier large (two approvals from @leads).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.model import RequestStatus
from tests.support.launching import post_at_once
from tests.support.lifecycle import answer, changes, launch
from tests.support.stack import APPROVER, APPROVER_2, BYSTANDER, CHANNEL, REQUESTER, Stack, policy_settings

LEAD_3 = "ULEAD3"
POLICY = f"""
approvers = ["@leads"]
expire_after = "2h"

[groups]
leads = ["{APPROVER}", "{APPROVER_2}", "{LEAD_3}"]

[[tiers]]
name = "small"
up_to = 20

[[tiers]]
name = "large"
up_to = 200
approvals = 2
"""


@pytest.fixture
def stack_settings(tmp_path: Path) -> dict[str, object]:
    return policy_settings(tmp_path, POLICY)


def launched(stack: Stack) -> None:
    launch(stack, f"create llama-8b {stack.backend.hardware} 1-3 timeout=0")
    stack.settle()


def change_card(stack: Stack) -> str:
    (card,) = [m for m in stack.fake.broadcasts(CHANNEL) if "Change request #" in (m.text or "")]
    return json.dumps(card.blocks, ensure_ascii=False)


def scales(stack: Stack) -> list[object]:
    """The PATCHes that changed the endpoint (in these tests, only scales do after launch)."""
    return list(changes(stack))


def audited(stack: Stack) -> list[str]:
    return [e["action"] for e in stack.bot.store.recent_events(100)]


def decide(stack: Stack, user: str, label: str = "Approve") -> str | None:
    """Click a button on the change card; the text shown only to `user` if the bot refused, else None
    after submitting the dialog it opened."""
    before = len(stack.fake.ephemerals(user))
    stack.slack.click(user, label)
    stack.settle()
    if len(stack.fake.ephemerals(user)) > before:
        return stack.fake.ephemerals(user)[-1].text
    stack.slack.wait_for_view(user)
    if label == "Reject":
        stack.slack.set(user, "reason", "too costly")
    assert stack.slack.submit(user) is None
    stack.settle()
    return None


def test_a_scale_into_a_higher_tier_waits_for_its_approvals_and_patches_once(stack: Stack) -> None:
    launched(stack)
    before = len(scales(stack))
    told = answer(stack, REQUESTER, "scale llama-8b-r1 1-4", "change request")
    assert "raises its cost to $21.60/h at max replicas (now $16.20/h) in tier *large*" in told
    assert "needs 2 approvals from @leads" in told and "nothing changes until it is approved" in told
    stack.settle()
    assert len(scales(stack)) == before  # Together was not asked
    card = change_card(stack)  # in the endpoint's thread, and broadcast to the channel
    assert "scale from 1–3 replicas, $16.20/h to 1–4 replicas, $21.60/h at max replicas" in card
    assert "Approve" in card and "Withdraw" in card

    home = json.dumps(stack.slack.open_home(APPROVER), ensure_ascii=False)
    assert "*Change request #2* (of request #1): scale from 1–3 replicas" in home
    refused = decide(stack, REQUESTER)
    assert refused is not None and "You clicked Approve on your own change request" in refused
    assert decide(stack, APPROVER) is None
    assert len(scales(stack)) == before and "1 of 2 approvals" in change_card(stack)
    assert decide(stack, APPROVER_2) is None
    stack.bot.launches.launch_approved()
    stack.settle()
    assert len(scales(stack)) == before + 1
    endpoint = stack.bot.store.endpoint(next(iter(stack.endpoints())))
    assert endpoint is not None and endpoint.max_replicas == 4
    assert "Applied at Together" in change_card(stack) and "approve_request" not in change_card(stack)
    actions = audited(stack)
    assert actions.count("change_requested") == 1 and actions.count("change_approved") == 2
    assert actions.index("change_approved") < actions.index("scaled")
    history = answer(stack, BYSTANDER, "history llama-8b-r1", "History")
    assert "asked to scale it to 1–4 replicas ($16.20/h → $21.60/h at max), which needs approval" in history
    assert "approved the change (2 of 2)" in history and "scaled it to 1–4 replicas" in history

    # approved now: scaling within the large tier, and anything that lowers the cost, goes straight through
    assert "now runs 1–5 replicas" in answer(stack, REQUESTER, "scale llama-8b-r1 1-5", "now runs")
    assert "now runs 1–2 replicas" in answer(stack, REQUESTER, "scale llama-8b-r1 1-2", "now runs")


def test_scaling_within_the_approved_tier_or_down_never_waits(stack: Stack) -> None:
    launched(stack)
    assert "now runs 2–3 replicas" in answer(stack, REQUESTER, "scale llama-8b-r1 2-3", "now runs")
    assert "now runs 1 replica" in answer(stack, REQUESTER, "scale llama-8b-r1 1-1", "now runs")
    assert not [m for m in stack.fake.broadcasts(CHANNEL) if "Change request" in (m.text or "")]
    assert "change_requested" not in audited(stack)


def test_twenty_concurrent_approvals_of_a_two_approval_change_patch_once(stack: Stack) -> None:
    launched(stack)
    answer(stack, REQUESTER, "scale llama-8b-r1 1-4", "change request")
    stack.settle()
    before = len(scales(stack))
    stack.slack.click(APPROVER, "Approve")
    view_1 = stack.slack.wait_for_view(APPROVER)
    stack.slack.click(APPROVER_2, "Approve")
    view_2 = stack.slack.wait_for_view(APPROVER_2)
    requests = [
        stack.slack.requests.view_submission(user, view)
        for _ in range(10)
        for user, view in ((APPROVER, view_1), (APPROVER_2, view_2))
    ]
    stack.bot.start()
    try:
        results = post_at_once(stack, requests)
        stack.fake.wait_for("chat.update", lambda c: "Applied at Together" in json.dumps(c.params))
    finally:
        stack.bot.stop()
    stack.settle()
    assert len([r for r in results if "errors" not in r]) == 2  # one approval each
    assert audited(stack).count("change_approved") == 2
    assert len(scales(stack)) == before + 1


def test_a_change_overtaken_by_a_scale_is_closed_without_a_patch(stack: Stack) -> None:
    launched(stack)
    answer(stack, REQUESTER, "scale llama-8b-r1 1-4", "change request")
    stack.settle()
    answer(stack, REQUESTER, "scale llama-8b-r1 1-2", "now runs")  # changed under the pending request
    stack.settle()
    before = len(scales(stack))
    card = change_card(stack)
    assert "Not applied: its endpoint was changed since: it runs 1–2 replicas now, not 1–3 replicas" in card
    assert "approve_request" not in card
    stack.bot.launches.launch_approved()
    assert len(scales(stack)) == before and "change_stale" in audited(stack)


def test_a_click_on_a_stale_change_card_is_refused_and_closes_it(stack: Stack) -> None:
    launched(stack)
    endpoint_id = next(iter(stack.endpoints()))
    answer(stack, REQUESTER, "scale llama-8b-r1 1-4", "change request")
    stack.settle()
    with stack.bot.store.transaction() as tx:  # deleted while the card still shows its buttons
        tx.mark_endpoint_deleted(endpoint_id)
    before = len(scales(stack))
    refused = decide(stack, APPROVER)
    assert (
        refused is not None and "This change request is stale: its endpoint has been deleted since" in refused
    )
    stack.settle()
    assert len(scales(stack)) == before
    assert "Not applied" in change_card(stack) and "approve_request" not in change_card(stack)


def test_the_requester_withdraws_a_change_and_nobody_else_can(stack: Stack) -> None:
    launched(stack)
    answer(stack, REQUESTER, "scale llama-8b-r1 1-4", "change request")
    stack.settle()
    refused = decide(stack, BYSTANDER, "Withdraw")
    assert refused is not None and f"You clicked Withdraw on <@{REQUESTER}>'s change request" in refused
    assert f"only <@{REQUESTER}>, who asked for it, can withdraw it" in refused
    refused = decide(stack, REQUESTER, "Reject")
    assert refused is not None and "You clicked Reject on your own change request" in refused
    assert "click *Withdraw*" in refused
    decide(stack, REQUESTER, "Withdraw")
    assert "You withdrew your change request" in (stack.fake.ephemerals(REQUESTER)[-1].text or "")
    stack.settle()
    assert "Withdrawn by" in change_card(stack) and "approve_request" not in change_card(stack)
    assert "change_withdrawn" in audited(stack)
    (change,) = stack.bot.store.changes_of(1)
    assert change.status is RequestStatus.WITHDRAWN


def test_an_expired_change_is_not_applied(stack: Stack) -> None:
    now = [datetime.now(UTC)]
    stack.bot.launches.now = lambda: now[0]
    launched(stack)
    answer(stack, REQUESTER, "scale llama-8b-r1 1-4", "change request")
    stack.settle()
    now[0] += timedelta(hours=2, minutes=1)
    before = len(scales(stack))
    refused = decide(stack, APPROVER)
    assert refused is not None and "This change request expired: nobody decided within 2 h" in refused
    assert "nothing was changed" in refused
    stack.settle()
    assert len(scales(stack)) == before and "Expired" in change_card(stack)
    assert "change_expired" in audited(stack)


def test_a_rejected_change_is_not_applied(stack: Stack) -> None:
    launched(stack)
    answer(stack, REQUESTER, "scale llama-8b-r1 1-4", "change request")
    stack.settle()
    before = len(scales(stack))
    assert decide(stack, APPROVER, "Reject") is None
    stack.bot.launches.launch_approved()
    stack.settle()
    assert len(scales(stack)) == before and "Rejected by" in change_card(stack)
    assert "change_rejected" in audited(stack)


def test_a_change_whose_process_died_mid_patch_is_applied_once_by_recovery(stack: Stack) -> None:
    launched(stack)
    answer(stack, REQUESTER, "scale llama-8b-r1 1-4", "change request")
    stack.settle()
    assert decide(stack, APPROVER) is None
    stack.slack.click(APPROVER_2, "Approve")
    stack.slack.wait_for_view(APPROVER_2)
    assert stack.slack.submit(APPROVER_2) is None  # approved; the launcher has not run yet
    (change,) = stack.bot.store.changes_of(1)
    before = len(scales(stack))
    with stack.bot.store.transaction() as tx:  # a process claimed it and died before its PATCH
        assert tx.claim_launch(change.id, timedelta(seconds=-1))
    assert stack.bot.launches.launch_approved() == 0 and len(scales(stack)) == before
    assert stack.bot.launches.recover_launches() == 1
    assert stack.bot.launches.recover_launches() == 0
    stack.settle()
    assert len(scales(stack)) == before + 1
    (change,) = stack.bot.store.changes_of(1)
    assert change.status is RequestStatus.LAUNCHED and "Applied at Together" in change_card(stack)
