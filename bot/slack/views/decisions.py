"""The approve and reject dialogs of a launch or change request."""

from __future__ import annotations

from typing import Any

from bot.domain.catalog import describe_hardware
from bot.domain.cost.estimate import CostEstimate
from bot.domain.model import LaunchRequest
from bot.domain.policy.approval import approvers_text
from bot.domain.policy.budget import BudgetUse
from bot.domain.policy.tiers import LaunchPolicy
from bot.slack.ids import Action, Block, Callback
from bot.slack.metadata import RequestRef
from bot.slack.text import code, escape, mention
from bot.slack.views.card import card_auto_stop
from bot.slack.views.changes import change_approval_summary


def approve_modal(
    request: LaunchRequest, ref: RequestRef, policy: LaunchPolicy, budget: list[BudgetUse] | None = None
) -> dict[str, Any]:
    d = request.draft
    estimate = CostEstimate(request.cents_per_minute, d.min_replicas, d.max_replicas)
    progress = policy.progress(request)
    final = progress.remaining <= 1
    approval = ""
    if policy.tiered:
        approval += f"• Approval: {escape(progress.tier.describe())}\n"
    if progress.needed > 1:
        so_far = f" (so far: {approvers_text(progress.approved_by)})" if progress.approved_by else ""
        then = "it launches once you approve" if final else "it still needs another after yours"
        approval += f"• This is approval {progress.count + 1} of {progress.needed}{so_far}: {then}.\n"
    for use in budget or []:
        approval += f"• Budget: {use.describe()} this month.\n"
    first = (
        change_approval_summary(request)
        if request.change_of is not None
        else f"Approve launch request #{request.id} from {mention(request.requested_by)}?"
    )
    summary = (
        f"{first}\n"
        f"• {code(d.model)} on {escape(describe_hardware(d.hardware))}\n"
        f"• {escape(estimate.describe())}\n"
        f"• Auto-stop: {card_auto_stop(d.inactive_timeout)}\n"
        f"{approval}"
        "Together starts billing as soon as the endpoint runs."
    )
    submit = ("Approve and apply" if request.change_of else "Approve and launch") if final else "Approve"
    return {
        "type": "modal",
        "callback_id": Callback.APPROVE_FORM,
        "title": {"type": "plain_text", "text": f"Approve {request.kind}"},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": ref.dump(),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": summary, "verbatim": True}},
            _text_input(Block.NOTE, Action.NOTE, "Note (optional)", optional=True),
        ],
    }


def reject_modal(request: LaunchRequest, ref: RequestRef) -> dict[str, Any]:
    asked = (
        f"Reject {request.kind} request #{request.id} from {mention(request.requested_by)} "
        f"({code(request.draft.model)} on {escape(describe_hardware(request.draft.hardware))})?"
    )
    return {
        "type": "modal",
        "callback_id": Callback.REJECT_FORM,
        "title": {"type": "plain_text", "text": f"Reject {request.kind}"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": ref.dump(),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "verbatim": True, "text": asked}},
            _text_input(Block.REASON, Action.REASON, "Reason (the requester sees it)"),
        ],
    }


def _text_input(block_id: str, action_id: str, label: str, *, optional: bool = False) -> dict[str, Any]:
    """A multiline note of up to 1000 characters."""
    block: dict[str, Any] = {"type": "input", "block_id": block_id}
    if optional:
        block["optional"] = True
    block["label"] = {"type": "plain_text", "text": label}
    block["element"] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": True,
        "max_length": 1000,
    }
    return block
