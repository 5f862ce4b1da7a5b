"""The request card: what was asked, what it costs, where the decision stands, and the endpoint it became.

Pure functions over database state. A change request's card is in bot/slack/views/changes.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.domain.catalog import Catalog, describe_hardware
from bot.domain.command import again_command
from bot.domain.cost.estimate import CostEstimate
from bot.domain.cost.meter import Meter, duration_text
from bot.domain.model import LaunchRequest, RequestStatus
from bot.domain.policy.approval import approvers_text, expiry_reason
from bot.domain.policy.tiers import LaunchPolicy, plural
from bot.domain.progress import progress_line
from bot.domain.running import current_draft
from bot.slack.ids import Block
from bot.slack.metadata import RequestRef
from bot.slack.text import SECTION_TEXT, code, escape, fit, mention, truncate
from bot.slack.views.blocks import decision_buttons, state_icon

SIMULATED_CARD_NOTE = ":test_tube: Simulated: no real Together endpoint is created."


def launch_card(
    request: LaunchRequest,
    *,
    catalog: Catalog,
    policy: LaunchPolicy,
    spent: Meter | None = None,
    simulated: bool = False,
) -> tuple[str, list[dict[str, Any]]]:
    """The card of a launch request; `spent` is the endpoint's running-cost meter, once it was launched."""
    d = current_draft(request)  # with replicas, name and auto-stop as changed since launch
    alias = catalog.alias_for(d.model)
    estimate = CostEstimate(request.cents_per_minute, d.min_replicas, d.max_replicas)
    title = f"*Launch request #{request.id}* from {mention(request.requested_by)}"
    fields = [
        f"*Model*\n{code(d.model)}" + (f" ({escape(alias)})" if alias else ""),
        f"*Hardware*\n{escape(describe_hardware(d.hardware))}\n{code(d.hardware)}",
        f"*Replicas*\n{d.min_replicas}" + (f"–{d.max_replicas}" if d.max_replicas != d.min_replicas else ""),
        f"*Cost*\n{escape(estimate.describe())}",
        f"*Auto-stop*\n{card_auto_stop(d.inactive_timeout)}",
        "*Options*\n"
        + ", ".join(
            [
                "speculative decoding " + ("on" if d.speculative_decoding else "off"),
                "prompt cache " + ("on" if d.prompt_cache else "off"),
                "starts when approved" if d.start_now else "created stopped",
            ]
        ),
    ]
    if spent is not None and (spent.serving > timedelta(0) or spent.hourly_now is not None):
        fields.append(f"*Cost so far*\n{spent_text(spent)}")  # once it has run: no "$0.00" before
    if d.display_name:
        fields.append(f"*Name*\n{escape(d.display_name)}")
    if policy.tiered:
        fields.append(f"*Approval*\n{tier_field(request, policy)}")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": title}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": truncate(f, 2000), "verbatim": True} for f in fields[:10]],
        },
        {
            "type": "section",
            "block_id": Block.DECISION,
            "text": {"type": "mrkdwn", "text": status_line(request, catalog, policy), "verbatim": True},
        },
    ]
    if request.status is RequestStatus.PENDING:
        blocks.append(decision_buttons(f"decide-{request.id}", RequestRef(request_id=request.id).dump()))
    context = f"Request #{request.id} · asked {request.requested_at:%Y-%m-%d %H:%M} UTC"
    if simulated:
        context = f"{SIMULATED_CARD_NOTE} · {context}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    text = (
        f"Launch request #{request.id}: {d.model} on {d.hardware}, {d.min_replicas}-{d.max_replicas} "
        f"replicas ({request.status.value})"
    )
    return text, blocks


def card_refused_text(request: LaunchRequest, catalog: Catalog) -> str:
    """To the requester, when Slack will not show their request's card where they asked (a private
    channel or a direct message the app was not invited to): nobody can approve what nobody sees."""
    asked = f"the card of your {request.kind} request #{request.id} in <#{request.channel_id}>"
    again = (
        f" and ask again: {code(again_command(request.draft, catalog))}"
        if request.change_of is None
        else " and ask for the change again"
    )
    return (
        f":warning: Slack did not let the bot post {asked}: the bot is not a member there (a private channel "
        f"or a direct message). Nobody can approve it from there, and nothing was launched. Invite the bot "
        f"with `/invite @endpoint-bot`{again}, or ask in a channel it is in."
    )


def card_auto_stop(minutes: int | None) -> str:
    """Auto-stop as the card and the approval dialog say it."""
    if minutes is None:
        return "Together's default (60 idle minutes)"
    if minutes == 0:
        return "never"
    return f"after {minutes} idle minutes"


def tier_field(request: LaunchRequest, policy: LaunchPolicy) -> str:
    """`Tier *large* ($20.00–$200.00/h)` and `2 approvals, one from @platform`."""
    tier = policy.tier_of(request)
    needs = plural(request.approvals_needed, "approval")
    if tier.at_least_one_from.names:
        needs += f", one from {escape(tier.at_least_one_from.label())}"
    return f"Tier *{escape(tier.name)}* ({tier.cost_range()})\n{needs}"


def pending_line(request: LaunchRequest, policy: LaunchPolicy) -> str:
    """Whom a pending request (or change request) waits for, and how many approvals it has."""
    progress = policy.progress(request)
    who = progress.waiting_for(request.requested_by)
    if progress.needed <= 1:
        return f":hourglass: Waiting for approval by {who or 'nobody (no approver is configured)'}."
    who = who or "nobody (no other approver is configured)"
    if progress.count == 0:
        required = progress.tier.at_least_one_from
        one_from = f", at least one from {escape(required.label())}" if required.names else ""
        return f":hourglass: Needs {progress.needed} approvals{one_from}; none yet. Waiting for {who}."
    return (
        f":hourglass: {progress.count} of {progress.needed} approvals: "
        f"{approvers_text(progress.approved_by)}. Waiting for {progress.remaining} more from {who}."
    )


def status_line(request: LaunchRequest, catalog: Catalog, policy: LaunchPolicy) -> str:
    status = request.status
    if status is RequestStatus.PENDING:
        return pending_line(request, policy)
    if status is RequestStatus.EXPIRED:
        return (
            f":alarm_clock: Expired: {expiry_reason(request)}. Ask again with "
            f"{code(again_command(request.draft, catalog))}."
        )
    if status is RequestStatus.WITHDRAWN:
        return (
            f":leftwards_arrow_with_hook: Withdrawn by {mention(request.requested_by)}, who asked for it. "
            "Nothing was launched."
        )
    by = mention(request.decided_by) if request.decided_by else "someone"
    if request.decision == "approved" and len(request.approvals) > 1:
        by = approvers_text([a.user_id for a in request.approvals])
    if status is RequestStatus.REJECTED:
        rejected = f":no_entry: Rejected by {by}"
        if not request.decision_note:
            return rejected
        return f"{rejected}: {fit(request.decision_note, SECTION_TEXT - len(rejected) - 2)}"
    approved = f":white_check_mark: Approved by {by}"
    if request.decision_note:
        approved += f" ({fit(request.decision_note, 300)})"
    if status in (RequestStatus.APPROVED, RequestStatus.LAUNCHING):
        return approved + ". Launching…"
    if status is RequestStatus.FAILED:
        return (
            approved
            + f".\n:x: Launch failed: {escape(truncate(request.error_message or 'unknown error', 500))}"
        )
    endpoint = request.endpoint
    if endpoint is None:
        return approved + "."
    deleting = (
        f"\n:wastebasket: Being deleted, as {mention(endpoint.delete_requested_by)} asked: the bot deletes it "
        "once Together has stopped it."
        if endpoint.delete_requested_by and endpoint.deleted_at is None
        else ""
    )
    progress = progress_line(endpoint)
    return (
        f"{approved}.\nEndpoint {code(endpoint.id)} · name {code(endpoint.name)} · "
        f"{state_icon(endpoint.state)} *{escape(endpoint.state)}*{deleting}"
        + (f"\n{progress}" if progress else "")
    )


def spent_text(spent: Meter) -> str:
    """`≈ $41.20 over 3 h 12 min serving · $10.80/h now`; a range where the replica count is unknown."""
    text = f"{spent.cost_text()} over {duration_text(spent.serving)} serving"
    if spent.unseen:
        text += (
            f", and {duration_text(spent.unseen)} between last seen serving and found gone that may or may "
            "not have been billed (the range counts it from nothing to all of it)"
        )
    elif not spent.exact:
        text += " (Together does not say how many replicas ran: the least to the most)"
    hourly = spent.hourly_text()
    return text + (f" · {hourly} now" if hourly else "")
