"""Who may approve or reject a pending launch request now, and what a refusal says. Pure rules.

A request needs its tier's number of approvals from distinct eligible people, never the requester; when
the tier wants one of them from `at_least_one_from`, the last approval is kept for those people. Any
eligible person may reject, also one who approved before.
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain.catalog import Catalog
from bot.domain.command import again_command
from bot.domain.errors import NotAllowed
from bot.domain.model import LaunchRequest, RequestStatus
from bot.domain.policy.tiers import LaunchPolicy, describe_duration
from bot.domain.text import mention, plural


def who_can_decide(policy: LaunchPolicy, request: LaunchRequest) -> list[str]:
    """Who may give `request` its next approval (the App Home lists it for them)."""
    progress = policy.progress(request)
    done = {request.requested_by, *progress.approved_by}
    return sorted(u for u in progress.tier.eligible - done if progress.may_complete(u))


def check_may_decide(policy: LaunchPolicy, request: LaunchRequest, user_id: str, *, approving: bool) -> None:
    """Raise NotAllowed, saying who can, unless `user_id` may approve (or reject) the pending `request`."""
    progress = policy.progress(request)
    tier = progress.tier
    requester = request.requested_by
    others = tier.deciders.mentions({requester})
    in_tier = f"tier *{tier.name}* ({tier.cost_range()})" if tier.name else ""
    kind = request.kind
    clicked = "Approve" if approving else "Reject"
    if user_id == requester:
        if not approving:
            raise NotAllowed(
                f"You clicked Reject on your own {kind} request #{request.id}: only those who may approve it "
                f"can reject it ({others or 'nobody else is configured'}). To call it off yourself, click "
                "*Withdraw* on it."
            )
        if others:
            needs = f" ({in_tier} needs {plural(progress.needed, 'approval')})" if in_tier else ""
            raise NotAllowed(
                f"You clicked Approve on your own {kind} request, so someone else must approve it: "
                f"{others}{needs}."
            )
        raise NotAllowed(
            f"You clicked Approve on your own {kind} request, so someone else must approve it. No other "
            "approver is configured; "
            + (
                f"whoever runs the bot adds one in {policy.source}."
                if policy.source
                else "an admin adds one to BOT_APPROVERS."
            )
        )
    if user_id not in tier.eligible:
        if not others:
            if policy.source:
                raise NotAllowed(
                    f"You clicked {clicked}, but nobody may approve this {kind} yet: whoever runs the bot adds "
                    f"approvers in {policy.source}."
                )
            raise NotAllowed(
                f"You clicked {clicked}, but no approvers are configured, so nobody can approve it yet. "
                "An admin sets BOT_APPROVERS to a comma-separated list of Slack user ids."
            )
        if in_tier:
            raise NotAllowed(
                f"You clicked {clicked} on a {kind} in {in_tier}: only {others} can approve or reject it."
            )
        raise NotAllowed(f"You clicked {clicked}: only approvers can approve or reject a {kind}: {others}.")
    if not approving:
        return
    if user_id in progress.approved_by:
        raise NotAllowed(
            f"You already approved this request ({progress.count} of {progress.needed} approvals); one "
            f"person's approval counts once. It needs {progress.remaining} more, from "
            f"{progress.waiting_for(requester) or 'nobody left'}."
        )
    if not progress.may_complete(user_id):
        raise NotAllowed(
            f"This request has {progress.count} of {progress.needed} approvals, and the last one must come "
            f"from {tier.at_least_one_from.label()}: {progress.waiting_for(requester)}. You may still reject it."
        )


def approvers_text(user_ids: list[str] | tuple[str, ...]) -> str:
    """`<@A>`, `<@A> and <@B>`, `<@A>, <@B> and <@C>`."""
    names = [mention(u) for u in user_ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def window(request: LaunchRequest) -> str:
    """How long the request could wait for a decision, e.g. `24 h`."""
    if request.expires_at is None:
        return "the time allowed"
    return describe_duration(max(request.expires_at - request.requested_at, timedelta(minutes=1)))


def expiry_reason(request: LaunchRequest) -> str:
    """`nobody decided within 24 h`, or how far the approvals got."""
    got = [a.user_id for a in request.approvals]
    if not got:
        return f"nobody decided within {window(request)}"
    return (
        f"only {len(got)} of {request.approvals_needed} approvals came ({approvers_text(got)}) "
        f"within {window(request)}"
    )


def decided_message(request: LaunchRequest, catalog: Catalog) -> str:
    """Why a request can no longer be decided (someone else did, or it expired)."""
    if request.status is RequestStatus.EXPIRED:
        if request.change_of is not None:
            return (
                f"This change request expired: {expiry_reason(request)}, so nothing was changed. Ask again "
                "with `/endpoint scale` (or `start`) if it is still wanted."
            )
        return (
            f"This request expired: {expiry_reason(request)}, so nothing was launched. Ask again with "
            f"`{again_command(request.draft, catalog)}`."
        )
    if request.status is RequestStatus.WITHDRAWN:
        return (
            f"This request was withdrawn by {mention(request.requested_by)}, who asked for it. "
            "Nothing more was done."
        )
    if request.status is RequestStatus.FAILED and request.error_code == "stale":
        return f"This change request is closed. {request.error_message} Nothing more was done."
    if request.decided_by:
        by = mention(request.decided_by)
        if request.decision == "approved" and len(request.approvals) > 1:
            by = approvers_text([a.user_id for a in request.approvals])
        return f"This request was already {request.decision} by {by}. Nothing more was done."
    return f"This request is already {request.status.value}. Nothing more was done."
