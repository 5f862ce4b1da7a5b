"""A policy file in force, through Slack: cost tiers and distinct approvals, limits at the command, the form
and `scale`, and requests that expire. The bot runs whole over signed Slack HTTP (the `stack` fixture)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.audit import audit_rows
from bot.domain.model import RequestStatus
from bot.slack.ids import Block
from tests.support.launching import approve, post_at_once, request_launch
from tests.support.lifecycle import answer, patches
from tests.support.stack import APPROVER, APPROVER_2, BYSTANDER, REQUESTER, Stack, policy_settings

pytestmark = pytest.mark.backend(
    "v1", reason="the policy's rules do not depend on the Together API; the flow suites cover v2"
)

LEAD_3 = "UMLLEAD3"  # in @ml-leads through the file only (not in BOT_APPROVERS)
PLATFORM = "UPLATFORM1"
ML_LEADS = f"@ml-leads (<@{APPROVER}>, <@{APPROVER_2}>, <@{LEAD_3}>)"

# h100 is $5.40/h a replica: 1-3 replicas ($16.20/h at max) is small, 2-5 ($27.00/h) is large.
POLICY = f"""
approvers = ["@ml-leads"]
admins = ["@platform"]
expire_after = "24h"

[groups]
ml-leads = ["{APPROVER}", "{APPROVER_2}", "{LEAD_3}"]
platform = ["{PLATFORM}"]

[limits]
max_replicas = 8
max_dollars_per_hour = 100
models = ["llama-8b", "llama-70b"]
hardware = ["h100", "2xh100", "4xh100"]

[[tiers]]
name = "small"
up_to = 20
approvers = ["@ml-leads"]

[[tiers]]
name = "large"
up_to = 200
approvers = ["@ml-leads"]
approvals = 2
at_least_one_from = ["@platform"]
"""


@pytest.fixture
def stack_settings(tmp_path: Path) -> dict[str, object]:
    return policy_settings(tmp_path, POLICY)


class Clock:
    """The domain's clock, moved by the test instead of waiting."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **span: float) -> None:
        self.at += timedelta(**span)


def card_text(stack: Stack) -> str:
    return json.dumps(stack.card().blocks, ensure_ascii=False)


def has_buttons(stack: Stack) -> bool:
    return "approve_request" in card_text(stack)


def click_for_answer(stack: Stack, user: str, label: str) -> str:
    """Click a card button as `user` and return the private answer (no form opens)."""
    before = len(stack.ephemeral_texts(user))
    stack.slack.click(user, label)
    assert stack.slack.view(user) is None
    texts = stack.ephemeral_texts(user)
    assert len(texts) == before + 1, texts
    return texts[-1]


def estimate(view: dict) -> str:  # type: ignore[type-arg]
    return next(b for b in view["blocks"] if b.get("block_id") == Block.ESTIMATE)["text"]["text"]


# --- tiers and approvals -------------------------------------------------------------------------


def test_small_tier_needs_one_approval_from_its_group(stack: Stack) -> None:
    stack.slack.command(REQUESTER, "create llama-8b h100 1-3")
    view = stack.slack.wait_for_view(REQUESTER)
    assert "*Approval:* tier *small* (up to $20.00/h at max replicas): 1 approval from @ml-leads" in estimate(
        view
    )
    assert stack.slack.submit(REQUESTER) is None
    stack.settle()
    text = card_text(stack)
    assert "*Approval*\\nTier *small* (up to $20.00/h)\\n1 approval" in text
    assert f"Waiting for approval by {ML_LEADS}." in text

    approve(stack, LEAD_3)  # a member through the file's group alone
    assert stack.creates() == 1
    assert stack.thread()[0].startswith(f":white_check_mark: Approved by <@{LEAD_3}>.")
    (row,) = audit_rows(stack.bot.store)
    assert (row["tier"], row["approvals_needed"], row["approved_by"]) == ("small", 1, LEAD_3)
    requested = row["events"][0]
    assert requested["action"] == "requested" and requested["detail"]["tier"] == "small"
    assert requested["detail"]["dollars_per_hour_at_max"] == 16.2


def test_large_tier_needs_two_distinct_approvals_one_from_platform(stack: Stack) -> None:
    request_launch(stack, "create llama-8b h100 2-5")
    text = card_text(stack)
    assert "Tier *large* ($20.00–$200.00/h)\\n2 approvals, one from @platform" in text
    assert "Needs 2 approvals, at least one from @platform; none yet." in text

    approve(stack, APPROVER, note="fine by me")
    assert stack.creates() == 0
    assert has_buttons(stack)  # still waiting: the buttons stay
    assert (
        f"1 of 2 approvals: <@{APPROVER}>. Waiting for 1 more from @platform (<@{PLATFORM}>)."
        in card_text(stack)
    )
    (reply,) = stack.thread()
    assert reply.startswith(f":ballot_box_with_check: <@{APPROVER}> approved (1 of 2 approvals).")
    assert "Note: fine by me. 1 more approval is needed before the launch." in reply

    again = click_for_answer(stack, APPROVER, "Approve")
    assert again.startswith("You already approved this request (1 of 2 approvals); one person's approval")
    not_platform = click_for_answer(stack, APPROVER_2, "Approve")
    assert not_platform == (
        "This request has 1 of 2 approvals, and the last one must come from @platform: "
        f"@platform (<@{PLATFORM}>). You may still reject it."
    )

    stack.slack.click(PLATFORM, "Approve")
    modal = stack.slack.wait_for_view(PLATFORM)
    assert modal["submit"]["text"] == "Approve and launch"
    assert f"This is approval 2 of 2 (so far: <@{APPROVER}>): it launches once you approve." in json.dumps(
        modal["blocks"], ensure_ascii=False
    )
    assert stack.slack.submit(PLATFORM) is None
    stack.settle()
    assert stack.creates() == 1 and not has_buttons(stack)
    assert f"Approved by <@{APPROVER}> and <@{PLATFORM}>" in card_text(stack)
    assert stack.thread()[1].startswith(
        f":white_check_mark: Approved by <@{APPROVER}> and <@{PLATFORM}> (2 of 2 approvals). Launching"
    )
    (row,) = audit_rows(stack.bot.store)
    assert [a["user"] for a in row["approvals"]] == [APPROVER, PLATFORM]
    assert row["approved_by"] == PLATFORM and row["tier"] == "large" and row["approvals_needed"] == 2
    approvals = [e["detail"] for e in row["events"] if e["action"] == "approved"]
    assert [(d["approval"], d["of"], d["tier"]) for d in approvals] == [(1, 2, "large"), (2, 2, "large")]


def test_who_can_decide_names_the_tiers_approvers(stack: Stack) -> None:
    request_launch(stack, "create llama-8b h100 2-5")
    tiers_people = f"{ML_LEADS}, @platform (<@{PLATFORM}>)"
    assert click_for_answer(stack, BYSTANDER, "Reject") == (
        f"You clicked Reject on a launch in tier *large* ($20.00–$200.00/h): only {tiers_people} can approve "
        "or reject it."
    )
    assert click_for_answer(stack, REQUESTER, "Approve") == (
        f"You clicked Approve on your own launch request, so someone else must approve it: {tiers_people} "
        "(tier *large* ($20.00–$200.00/h) needs 2 approvals)."
    )


def test_reject_by_any_eligible_approver_ends_a_partly_approved_request(stack: Stack) -> None:
    request_launch(stack, "create llama-8b h100 2-5")
    approve(stack, APPROVER)
    stack.slack.click(APPROVER_2, "Reject")
    stack.slack.wait_for_view(APPROVER_2)
    stack.slack.set(APPROVER_2, Block.REASON, "too big for a test")
    assert stack.slack.submit(APPROVER_2) is None
    stack.settle()
    assert stack.creates() == 0 and not has_buttons(stack)
    assert f"Rejected by <@{APPROVER_2}>: too big for a test" in card_text(stack)
    (row,) = audit_rows(stack.bot.store)
    assert row["status"] == "rejected" and [a["user"] for a in row["approvals"]] == [APPROVER]
    assert row["events"][-1]["detail"]["approvals"] == [APPROVER]


def test_twenty_concurrent_approvals_on_a_two_approval_tier_launch_once(stack: Stack) -> None:
    request_launch(stack, "create llama-8b h100 2-5")
    views = {}
    for user in (APPROVER, APPROVER_2, PLATFORM):
        stack.slack.click(user, "Approve")
        views[user] = stack.slack.wait_for_view(user)
    people = [APPROVER, APPROVER_2, PLATFORM]
    requests = [stack.slack.requests.view_submission(people[i % 3], views[people[i % 3]]) for i in range(20)]
    stack.bot.start()  # launcher, tracker and publisher run for real, concurrently with the approvals
    try:
        results = post_at_once(stack, requests)
        stack.fake.wait_for("chat.postMessage", lambda c: "State: *PENDING*" in (c.params.get("text") or ""))
    finally:
        stack.bot.stop()
    stack.settle()
    assert stack.creates() == 1
    (row,) = audit_rows(stack.bot.store)
    approvers = [a["user"] for a in row["approvals"]]
    assert len(approvers) == 2 and len(set(approvers)) == 2 and PLATFORM in approvers
    assert row["status"] == "launched"
    assert len([r for r in results if "errors" not in r]) == 2  # one per recorded approval
    refused = [r for r in results if "errors" in r]
    assert all(
        "already approved" in r or "You already approved" in r or "must come from @platform" in r
        for r in refused
    ), refused
    assert sum(t.startswith(":white_check_mark: Approved by") for t in stack.thread()) == 1
    assert sum("approved (1 of 2 approvals)" in t for t in stack.thread()) == 1


def test_home_offers_a_partly_approved_request_only_to_who_may_still_approve_it(stack: Stack) -> None:
    request_launch(stack, "create llama-8b h100 2-5")
    approve(stack, APPROVER)
    for user in (APPROVER, APPROVER_2):  # already approved; cannot give the last (platform) approval
        home = json.dumps(stack.slack.open_home(user)["blocks"])
        assert "Nothing is waiting for you." in home and "approve_request" not in home
    home = json.dumps(stack.slack.open_home(PLATFORM)["blocks"])
    assert "Request #1" in home and "1 of 2 approvals" in home and "approve_request" in home


# --- limits ----------------------------------------------------------------------------------------


def test_over_a_limit_the_command_says_the_limit_and_what_was_typed(stack: Stack) -> None:
    for typed, expected in (
        (
            "create mixtral h100 1",
            "The policy does not allow the model `mistralai/Mixtral-8x7B-Instruct-v0.1`. Allowed models: "
            "`llama-8b` (meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo), `llama-70b` "
            "(meta-llama/Llama-3.3-70B-Instruct-Turbo).",
        ),
        (
            "create llama-8b h100 2-10",
            "The policy allows at most 8 replicas per endpoint; you asked for 10. Choose 8 or fewer.",
        ),
        ("create llama-8b h200 1", "The policy does not allow the hardware `1x_nvidia_h200_140gb_sxm`"),
        (
            "create llama-8b 4xh100 5",
            "$108.00/h at 5 replicas is over the policy's limit of $100.00/h per endpoint. On this hardware "
            "($21.60/h per replica) that allows at most 4 replicas",
        ),
    ):
        text = answer(stack, REQUESTER, typed, "policy")
        assert expected in text, text
        assert text.endswith(f"You typed: `/endpoint {typed}`")
    assert stack.slack.view(REQUESTER) is None
    assert stack.bot.store.requests() == []


def test_over_a_limit_the_form_shows_a_field_error_and_keeps_what_was_typed(stack: Stack) -> None:
    stack.slack.command(REQUESTER, "create llama-8b 4xh100 1-4")
    view = stack.slack.wait_for_view(REQUESTER)
    max_field = next(b for b in view["blocks"] if b.get("block_id") == Block.MAX_REPLICAS)
    assert (
        max_field["hint"]["text"]
        == "The policy allows at most 8 replicas and at most $100.00/h at max replicas."
    )
    stack.slack.set(REQUESTER, Block.MAX_REPLICAS, "6")
    view = stack.slack.wait_for_view(REQUESTER)
    assert ":warning: $129.60/h at 6 replicas is over the policy's limit" in estimate(
        view
    )  # said before submitting

    errors = stack.slack.submit(REQUESTER)
    assert errors == {
        Block.MAX_REPLICAS: "$129.60/h at 6 replicas is over the policy's limit of $100.00/h per endpoint. On "
        "this hardware ($21.60/h per replica) that allows at most 4 replicas; choose fewer replicas or cheaper "
        "hardware."
    }
    view = stack.slack.view(REQUESTER)
    assert view is not None  # the form stays open with what was typed
    values = stack.slack.values(view)
    assert values[Block.MAX_REPLICAS][Block.MAX_REPLICAS]["value"] == "6"
    assert values[Block.HARDWARE][Block.HARDWARE]["selected_option"]["value"] == "4x_nvidia_h100_80gb_sxm"
    assert stack.bot.store.requests() == []

    stack.slack.set(REQUESTER, Block.MAX_REPLICAS, "4")
    assert stack.slack.submit(REQUESTER) is None
    stack.settle()
    (request,) = stack.bot.store.requests()
    assert (request.draft.max_replicas, request.tier) == (4, "large")


def test_scale_keeps_to_the_same_limits_in_the_same_words(stack: Stack) -> None:
    request_launch(stack, "create llama-8b 4xh100 1")  # $21.60/h: large, two approvals
    approve(stack, APPROVER)
    approve(stack, PLATFORM)
    stack.start()
    assert stack.creates() == 1
    text = answer(stack, REQUESTER, "scale llama-8b-r1 1-5", "policy")
    assert text == (
        "$108.00/h at 5 replicas is over the policy's limit of $100.00/h per endpoint. On this hardware "
        "($21.60/h per replica) that allows at most 4 replicas; choose fewer replicas or cheaper hardware."
    )
    text = answer(stack, REQUESTER, "scale llama-8b-r1 1-9", "policy")
    assert text == "The policy allows at most 8 replicas per endpoint; you asked for 9. Choose 8 or fewer."
    assert patches(stack) == []
    assert "now runs 1–4 replicas" in answer(stack, REQUESTER, "scale llama-8b-r1 1-4", "now runs")


# --- expiry ------------------------------------------------------------------------------------------


def test_a_request_nobody_decides_expires(stack: Stack) -> None:
    clock = Clock()
    stack.bot.launches.now = clock
    request_launch(stack, "create llama-8b h100 1-3")
    clock.advance(hours=23, minutes=59)
    stack.settle()
    assert has_buttons(stack) and stack.thread() == []

    clock.advance(minutes=2)
    stack.settle()
    text = card_text(stack)
    assert not has_buttons(stack)
    assert (
        ":alarm_clock: Expired: nobody decided within 24 h. Ask again with "
        "`/endpoint create llama-8b h100 1-3`." in text
    )
    (reply,) = stack.thread()
    assert reply.startswith(f":alarm_clock: <@{REQUESTER}> your launch request #1 expired: nobody decided")
    (row,) = audit_rows(stack.bot.store)
    assert row["status"] == "expired" and row["expires_at"]
    expired = row["events"][-1]
    assert (expired["action"], expired["actor"]) == ("expired", "bot")
    assert expired["detail"]["waited"] == "24 h"
    stack.settle()  # expired once: no second reply
    assert len(stack.thread()) == 1
    history = answer(stack, REQUESTER, "history", "expired")
    assert "the bot expired the request: nobody decided within 24 h" in history


def test_an_approval_after_expiry_is_refused(stack: Stack) -> None:
    clock = Clock()
    stack.bot.launches.now = clock
    request_launch(stack, "create llama-8b h100 2-5")
    approve(stack, APPROVER)
    stack.slack.click(PLATFORM, "Approve")
    stack.slack.wait_for_view(PLATFORM)  # opened in time, submitted too late
    clock.advance(hours=25)

    # Before the sweep has run, the card still shows its buttons: a click is refused all the same.
    refusal = click_for_answer(stack, APPROVER_2, "Reject")
    expired = (
        f"This request expired: only 1 of 2 approvals came (<@{APPROVER}>) within 24 h, so nothing was "
        "launched. Ask again with `/endpoint create llama-8b h100 2-5`."
    )
    assert refusal == expired
    assert stack.slack.submit(PLATFORM) == {Block.NOTE: expired}
    stack.settle()
    assert stack.creates() == 0 and not has_buttons(stack)
    assert f"Expired: only 1 of 2 approvals came (<@{APPROVER}>) within 24 h." in card_text(stack)
    request = stack.bot.store.get_request(1)
    assert request is not None and request.status is RequestStatus.EXPIRED
    assert [e["action"] for e in stack.bot.store.events(1)].count("expired") == 1
    assert sum("expired" in t for t in stack.thread()) == 1
