"""Change requests in Slack: the card in the endpoint's thread, its thread replies and its approval
summary. Pure functions over database state; the rules are in bot/domain/changes.py."""

from __future__ import annotations

from typing import Any

from bot.domain.cost.estimate import dollars_per_hour, format_dollars, replica_count
from bot.domain.events import Approved, Event, Expired, Rejected, Withdrawn
from bot.domain.model import LaunchRequest, RequestStatus
from bot.domain.policy.approval import approvers_text, expiry_reason
from bot.domain.policy.tiers import LaunchPolicy
from bot.domain.text import plural
from bot.slack.metadata import RequestRef
from bot.slack.text import escape, mention, truncate
from bot.slack.views.blocks import decision_buttons
from bot.slack.views.card import pending_line


def change_summary(change: LaunchRequest) -> str:
    """`scale 2–5 replicas → 2–8 replicas, $27.00/h → $43.20/h at max`."""
    d = change.draft
    cents = change.cents_per_minute
    after = f"{replica_count(d.min_replicas, d.max_replicas)}, {format_dollars(dollars_per_hour(cents, d.max_replicas))}/h"
    if change.change == "start":
        return f"start at {after} at max replicas"
    if change.previous_replicas is None:
        return f"scale to {after} at max replicas"
    low, high = change.previous_replicas
    before = f"{replica_count(low, high)}, {format_dollars(dollars_per_hour(cents, high))}/h"
    return f"scale from {before} to {after} at max replicas"


def change_card(change: LaunchRequest, policy: LaunchPolicy) -> tuple[str, list[dict[str, Any]]]:
    """The card of a change request, posted in its endpoint's thread (and to the channel)."""
    title = (
        f"*Change request #{change.id}* from {mention(change.requested_by)}: {escape(change_summary(change))}"
    )
    lines = [title]
    if policy.tiered:
        tier = policy.tier_of(change)
        lines.append(
            f"Tier *{escape(tier.name)}* ({tier.cost_range()}): {plural(change.approvals_needed, 'approval')}"
        )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines), "verbatim": True}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _status_line(change, policy), "verbatim": True},
        },
    ]
    if change.status is RequestStatus.PENDING:
        blocks.append(decision_buttons(f"change-{change.id}", RequestRef(request_id=change.id).dump()))
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Change request #{change.id} · asked {change.requested_at:%Y-%m-%d %H:%M} UTC",
                }
            ],
        }
    )
    text = f"Change request #{change.id}: {change_summary(change)} ({change.status.value})"
    return text, blocks


def _status_line(change: LaunchRequest, policy: LaunchPolicy) -> str:
    status = change.status
    if status is RequestStatus.PENDING:
        return pending_line(change, policy)
    if status is RequestStatus.EXPIRED:
        return f":alarm_clock: Expired: {expiry_reason(change)}. Nothing was changed."
    if status is RequestStatus.WITHDRAWN:
        return (
            f":leftwards_arrow_with_hook: Withdrawn by {mention(change.requested_by)}. Nothing was changed."
        )
    by = mention(change.decided_by) if change.decided_by else "someone"
    if change.decision == "approved" and len(change.approvals) > 1:
        by = approvers_text([a.user_id for a in change.approvals])
    if status is RequestStatus.REJECTED:
        reason = f": {escape(change.decision_note)}" if change.decision_note else ""
        return f":no_entry: Rejected by {by}{reason}. Nothing was changed."
    if status is RequestStatus.FAILED and change.error_code == "stale":
        return f":heavy_minus_sign: {escape(change.error_message or 'Not applied.')}"
    approved = f":white_check_mark: Approved by {by}"
    if status in (RequestStatus.APPROVED, RequestStatus.LAUNCHING):
        return approved + ". Applying…"
    if status is RequestStatus.FAILED:
        return (
            approved + f".\n:x: Not applied: {escape(truncate(change.error_message or 'unknown error', 500))}"
        )
    return approved + ". Applied at Together."


def change_reply(change: LaunchRequest, event: Event) -> str | None:
    """The thread reply of a change request's decision event; None for events it does not own."""
    what = f"change request #{change.id} ({escape(change_summary(change))})"
    match event:
        case Approved():
            count, needed = event.count or 1, event.needed or 1
            if count < needed:
                return (
                    f":ballot_box_with_check: {mention(event.user)} approved {what} ({count} of {needed} "
                    "approvals)."
                )
            return f":white_check_mark: {what} approved. Applying it at Together now."
        case Rejected():
            return (
                f":no_entry: {mention(event.user)} rejected {what}: {escape(event.note)}\n"
                f"{mention(change.requested_by)}, nothing was changed."
            )
        case Expired():
            return (
                f":alarm_clock: {mention(change.requested_by)} {what} expired: {expiry_reason(change)}. "
                "Nothing was changed."
            )
        case Withdrawn():
            return f":leftwards_arrow_with_hook: {mention(change.requested_by)} withdrew {what}. Nothing was changed."
        case _:
            return None


def change_approval_summary(change: LaunchRequest) -> str:
    """The first line of the approval dialog of a change."""
    return f"Approve change request #{change.id} from {mention(change.requested_by)}: {escape(change_summary(change))}?"
