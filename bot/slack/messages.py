"""Cards, thread replies and decision modals, rendered from database state. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.domain.catalog import Catalog, describe_hardware
from bot.domain.command import again_command
from bot.domain.cost.estimate import CostEstimate, format_dollars
from bot.domain.cost.meter import Meter, duration_text, money_range
from bot.domain.model import LaunchRequest, RequestStatus
from bot.domain.policy.approval import approvers_text, expiry_reason
from bot.domain.policy.budget import BudgetUse
from bot.domain.policy.tiers import LaunchPolicy
from bot.domain.progress import progress_line
from bot.domain.running import current_draft
from bot.domain.states import FAILED, READY_TO_SERVE
from bot.domain.text import plural
from bot.slack.change_views import change_approval_summary, change_card, change_reply
from bot.slack.ids import Action, Block, Callback
from bot.slack.metadata import EndpointRef, RequestRef
from bot.slack.text import SECTION_TEXT, code, escape, fit, mention, truncate

SIMULATED_CARD_NOTE = ":test_tube: Simulated: no real Together endpoint is created."
SIMULATED_REPLY_NOTE = "_:test_tube: Simulated: nothing runs at Together._"

STATE_ICONS = {
    "PENDING": ":hourglass_flowing_sand:",
    "STARTING": ":arrows_counterclockwise:",
    "STARTED": ":large_green_circle:",
    "STOPPING": ":double_vertical_bar:",
    "STOPPED": ":black_square_for_stop:",
    "ERROR": ":red_circle:",
    "FAILED": ":red_circle:",
    "DELETED": ":wastebasket:",
    # Together's v2 deployment states
    "PROVISIONING": ":hourglass_flowing_sand:",
    "READY": ":large_green_circle:",
    "SCALING": ":arrows_counterclockwise:",
    "DEGRADED": ":large_yellow_circle:",
}


@dataclass(frozen=True)
class Renderer:
    """Turns requests and events into Slack messages. `inference_url` goes into the usage example."""

    catalog: Catalog
    policy: LaunchPolicy
    inference_url: str | None = "https://api.together.xyz/v1"  # None: nothing lasting answers there (shell)
    simulated: bool = False

    # --- the request card ------------------------------------------------------------------

    def card(self, request: LaunchRequest, spent: Meter | None = None) -> tuple[str, list[dict[str, Any]]]:
        """The request card; `spent` is the endpoint's running-cost meter, once it was launched."""
        if request.change_of is not None:
            return change_card(self, request)
        d = current_draft(request)  # with replicas, name and auto-stop as changed since launch
        alias = self.catalog.alias_for(d.model)
        estimate = CostEstimate(request.cents_per_minute, d.min_replicas, d.max_replicas)
        title = f"*Launch request #{request.id}* from {mention(request.requested_by)}"
        fields = [
            f"*Model*\n{code(d.model)}" + (f" ({escape(alias)})" if alias else ""),
            f"*Hardware*\n{escape(describe_hardware(d.hardware))}\n{code(d.hardware)}",
            f"*Replicas*\n{d.min_replicas}"
            + (f"–{d.max_replicas}" if d.max_replicas != d.min_replicas else ""),
            f"*Cost*\n{escape(estimate.describe())}",
            f"*Auto-stop*\n{self._auto_stop(d.inactive_timeout)}",
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
        if self.policy.tiered:
            fields.append(f"*Approval*\n{self._tier_field(request)}")
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": title}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": truncate(f, 2000), "verbatim": True} for f in fields[:10]
                ],
            },
            {
                "type": "section",
                "block_id": Block.DECISION,
                "text": {"type": "mrkdwn", "text": self._status_line(request), "verbatim": True},
            },
        ]
        if request.status is RequestStatus.PENDING:
            blocks.append(decision_buttons(f"decide-{request.id}", RequestRef(request_id=request.id).dump()))
        context = f"Request #{request.id} · asked {request.requested_at:%Y-%m-%d %H:%M} UTC"
        if self.simulated:
            context = f"{SIMULATED_CARD_NOTE} · {context}"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
        text = (
            f"Launch request #{request.id}: {d.model} on {d.hardware}, {d.min_replicas}-{d.max_replicas} "
            f"replicas ({request.status.value})"
        )
        return text, blocks

    def _auto_stop(self, minutes: int | None) -> str:
        if minutes is None:
            return "Together's default (60 idle minutes)"
        if minutes == 0:
            return "never"
        return f"after {minutes} idle minutes"

    def _tier_field(self, request: LaunchRequest) -> str:
        """`Tier *large* ($20.00–$200.00/h)` and `2 approvals, one from @platform`."""
        tier = self.policy.tier_of(request)
        needs = plural(request.approvals_needed, "approval")
        if tier.at_least_one_from.names:
            needs += f", one from {escape(tier.at_least_one_from.label())}"
        return f"Tier *{escape(tier.name)}* ({tier.cost_range()})\n{needs}"

    def _pending_line(self, request: LaunchRequest) -> str:
        progress = self.policy.progress(request)
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

    def _status_line(self, request: LaunchRequest) -> str:
        status = request.status
        if status is RequestStatus.PENDING:
            return self._pending_line(request)
        if status is RequestStatus.EXPIRED:
            return (
                f":alarm_clock: Expired: {expiry_reason(request)}. Ask again with "
                f"{code(again_command(request.draft, self.catalog))}."
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
        icon = STATE_ICONS.get(endpoint.state, ":grey_question:")
        deleting = (
            f"\n:wastebasket: Being deleted, as {mention(endpoint.delete_requested_by)} asked: the bot deletes it "
            "once Together has stopped it."
            if endpoint.delete_requested_by and endpoint.deleted_at is None
            else ""
        )
        progress = progress_line(endpoint)
        return (
            f"{approved}.\nEndpoint {code(endpoint.id)} · name {code(endpoint.name)} · "
            f"{icon} *{escape(endpoint.state)}*{deleting}" + (f"\n{progress}" if progress else "")
        )

    # --- thread replies --------------------------------------------------------------------

    def thread_reply(self, request: LaunchRequest, payload: dict[str, Any]) -> str:
        text = self._reply_text(request, payload)
        return f"{text}\n{SIMULATED_REPLY_NOTE}" if self.simulated else text

    def thread_blocks(self, request: LaunchRequest, payload: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Blocks for a reply that needs more than text (a reminder's buttons); None for plain text."""
        if payload.get("event") != "reminder":
            return None
        ref = EndpointRef(endpoint_id=str(payload["endpoint_id"])).dump()
        return [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": self.thread_reply(request, payload), "verbatim": True},
            },
            {
                "type": "actions",
                "block_id": f"remind-{payload['endpoint_id']}"[:255],
                "elements": [
                    {
                        "type": "button",
                        "action_id": Action.KEEP_RUNNING,
                        "value": ref,
                        "text": {"type": "plain_text", "text": "Keep running"},
                    },
                    {
                        "type": "button",
                        "action_id": Action.STOP_NOW,
                        "style": "danger",
                        "value": ref,
                        "text": {"type": "plain_text", "text": "Stop now"},
                    },
                ],
            },
        ]

    def _reply_text(self, request: LaunchRequest, payload: dict[str, Any]) -> str:
        event = payload.get("event")
        if request.change_of is not None:
            said = change_reply(request, payload)
            if said is not None:
                return said
        if event == "withdrawn":
            return (
                f":leftwards_arrow_with_hook: {mention(request.requested_by)} withdrew the launch request. "
                "Nothing was launched."
            )
        if event == "approved":
            note = f" Note: {escape(_sentence(payload['note']))}" if payload.get("note") else ""
            count, needed = int(payload.get("count") or 1), int(payload.get("needed") or 1)
            if needed <= 1:
                return f":white_check_mark: Approved by {mention(payload['user'])}.{note} Launching on Together now."
            if count < needed:
                left = needed - count
                return (
                    f":ballot_box_with_check: {mention(payload['user'])} approved ({count} of {needed} "
                    f"approvals).{note} {plural(left, 'more approval')} {'is' if left == 1 else 'are'} "
                    "needed before the launch."
                )
            return (
                f":white_check_mark: Approved by {approvers_text(payload.get('approvers') or [payload['user']])} "
                f"({count} of {needed} approvals).{note} Launching on Together now."
            )
        if event == "expired":
            return (
                f":alarm_clock: {mention(payload.get('requester') or request.requested_by)} your launch request "
                f"#{request.id} expired: {expiry_reason(request)}, so nothing was launched. Ask again with "
                f"{code(again_command(request.draft, self.catalog))}."
            )
        if event == "rejected":
            return (
                f":no_entry: Rejected by {mention(payload['user'])}: {fit(payload.get('note'), SECTION_TEXT)}\n"
                f"{mention(request.requested_by)}, nothing was launched."
            )
        if event == "launched":
            return (
                f":rocket: Together accepted the launch. Endpoint {code(payload['endpoint_id'])}, "
                f"name {code(payload['name'])}. State: *{escape(payload['state'])}*"
            )
        if event == "state":
            return self._state_reply(request, payload)
        if event == "duplicate":
            people = " ".join(
                mention(u)
                for u in dict.fromkeys([payload.get("requester"), *(payload.get("approvers") or [])])
                if u
            )
            created = str(payload.get("created_at") or "")[:16].replace("T", " ")
            return (
                f":warning: {people} Together lists another endpoint named *{escape(payload.get('display_name'))}*: "
                f"{code(payload.get('endpoint_id') or '')} (*{escape(payload.get('state'))}*"
                + (f", created {escape(created)} UTC" if created else "")
                + f"). The bot launched {code(payload.get('launched') or '')} for this request and does not run "
                "the other one. If it came from this launch (a create whose answer was lost and that Together "
                "completed later), it is billed while it runs: check it with "
                f"`/endpoint status {escape(payload.get('endpoint_id'))}` and delete it in Together's console if "
                "nobody needs it."
            )
        if event == "unreachable":
            return (
                f":warning: Together has not answered the bot for about {payload.get('minutes')} minutes "
                f"({escape(truncate(str(payload.get('message') or ''), 300))}). Updates here are delayed, "
                "not lost; the bot keeps trying and will say when Together answers again."
            )
        if event == "reachable":
            return (
                f":white_check_mark: Together answers again. Current state: *{escape(str(payload.get('state')))}*"
                "; any change missed meanwhile follows."
            )
        if event == "reminder":
            return reminder_text(payload)
        if event == "kept_running":
            return (
                f":ok_hand: {mention(payload['user'])} keeps the endpoint running; the next reminder comes in "
                f"{_hours(payload.get('interval_hours'))} if it still runs."
            )
        if event in ("action", "action_failed"):
            from bot.slack.lifecycle_views import action_reply  # that module builds on this one

            return action_reply(request, payload)
        if event in ("first_replica", "smoke_test"):
            from bot.slack.startup_views import startup_reply  # that module builds on this one

            return startup_reply(request, payload)
        if event == "launch_failed":
            where = f"HTTP {payload['status']}" if payload.get("status") else "no answer"
            tag = f", {escape(payload['code'])}" if payload.get("code") else ""
            return (
                f":x: {mention(payload.get('requester') or request.requested_by)} the launch failed. "
                f"Together said ({where}{tag}):\n> {escape(truncate(payload.get('message') or '', 1500))}\n"
                f"{escape(payload.get('hint') or '')}"
            )
        return escape(str(payload))

    def _state_reply(self, request: LaunchRequest, payload: dict[str, Any]) -> str:
        state = str(payload["state"])
        icon = STATE_ICONS.get(state, ":grey_question:")
        line = f"{icon} State: *{escape(state)}*"
        if payload.get("desired_replicas") is not None:
            ready, desired = int(payload.get("ready_replicas") or 0), int(payload["desired_replicas"])
            if ready > desired:  # scaling down: more replicas run than are wanted
                line += f" ({ready} replicas running, going down to {desired})"
            else:
                line += f" ({ready}/{desired} replicas ready)"
        if payload.get("status_message") and state not in READY_TO_SERVE:
            line += f": {escape(truncate(str(payload['status_message']), 300))}"
        if state in READY_TO_SERVE:
            name = payload.get("name") or ""
            checking = (
                " The bot sends it one tiny request now to check that it answers."
                if payload.get("smoke_test")
                else ""
            )
            if self.inference_url is None:
                return (
                    f"{line}. The endpoint is serving, in the simulator only: there is nothing to call.{checking} "
                    f"A real endpoint's reply here shows how to call it (`model` set to its name, here {code(name)})."
                )
            return (
                f"{line}. The endpoint is serving.{checking} Call it with `model` set to {code(name)}:\n"
                "```curl " + self.inference_url.rstrip("/") + "/chat/completions \\\n"
                '  -H "Authorization: Bearer $TOGETHER_API_KEY" -H "Content-Type: application/json" \\\n'
                '  -d \'{"model": "' + escape(name).replace("'", "") + '", '
                '"messages": [{"role": "user", "content": "Hello"}]}\'```'
            )
        requester = mention(payload.get("requester") or request.requested_by)
        ref = code(payload.get("name") or payload.get("endpoint_id") or "")
        if state in FAILED:
            return (
                f"{line}. {requester} Together reports the endpoint failed. It is not serving: `/endpoint "
                f"delete` {ref} removes it (approvers and admins), or ask for a new launch with other hardware."
            )
        if state == "DEGRADED" and not payload.get("ready_replicas"):
            return (
                f"{line}. {requester} no replica serves yet. Together keeps trying to place them (after about "
                f"6 hours it gives up and reports FAILED). Wait, or `/endpoint stop` {ref} and ask for other "
                "hardware."
            )
        if state == "STOPPED":
            return f"{line}.{ran_text(payload)} The endpoint is not serving and not billed."
        if state == "DELETED":
            return f"{icon} The endpoint no longer exists at Together; the bot stops following it.{ran_text(payload)}"
        return line

    # --- decision modals -------------------------------------------------------------------

    def approve_modal(
        self, request: LaunchRequest, ref: RequestRef, budget: list[BudgetUse] | None = None
    ) -> dict[str, Any]:
        d = request.draft
        estimate = CostEstimate(request.cents_per_minute, d.min_replicas, d.max_replicas)
        progress = self.policy.progress(request)
        final = progress.remaining <= 1
        approval = ""
        if self.policy.tiered:
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
            f"• Auto-stop: {self._auto_stop(d.inactive_timeout)}\n"
            f"{approval}"
            "Together starts billing as soon as the endpoint runs."
        )
        return {
            "type": "modal",
            "callback_id": Callback.APPROVE_FORM,
            "title": {"type": "plain_text", "text": f"Approve {request.kind}"},
            "submit": {
                "type": "plain_text",
                "text": ("Approve and apply" if request.change_of else "Approve and launch")
                if final
                else "Approve",
            },
            "close": {"type": "plain_text", "text": "Cancel"},
            "private_metadata": ref.dump(),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": summary, "verbatim": True}},
                {
                    "type": "input",
                    "block_id": Block.NOTE,
                    "optional": True,
                    "label": {"type": "plain_text", "text": "Note (optional)"},
                    "element": {
                        "type": "plain_text_input",
                        "action_id": Action.NOTE,
                        "multiline": True,
                        "max_length": 1000,
                    },
                },
            ],
        }

    def reject_modal(self, request: LaunchRequest, ref: RequestRef) -> dict[str, Any]:
        return {
            "type": "modal",
            "callback_id": Callback.REJECT_FORM,
            "title": {"type": "plain_text", "text": f"Reject {request.kind}"},
            "submit": {"type": "plain_text", "text": "Reject"},
            "close": {"type": "plain_text", "text": "Cancel"},
            "private_metadata": ref.dump(),
            "blocks": [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "verbatim": True,
                        "text": f"Reject {request.kind} request #{request.id} from {mention(request.requested_by)} "
                        f"({code(request.draft.model)} on {escape(describe_hardware(request.draft.hardware))})?",
                    },
                },
                {
                    "type": "input",
                    "block_id": Block.REASON,
                    "label": {"type": "plain_text", "text": "Reason (the requester sees it)"},
                    "element": {
                        "type": "plain_text_input",
                        "action_id": Action.REASON,
                        "multiline": True,
                        "max_length": 1000,
                    },
                },
            ],
        }

    # --- misc ------------------------------------------------------------------------------

    def hardware_listing(self, model: str, options: list[Any]) -> str:
        lines = [f"Hardware for {code(model)}, cheapest first (price per replica):"]
        for h in options:
            extra = (
                f", {h.availability}" if getattr(h, "availability", None) not in (None, "available") else ""
            )
            lines.append(
                f"• {code(h.id)} {escape(describe_hardware(h.id))}: "
                f"{format_dollars(h.dollars_per_hour)}/h{extra}"
            )
        return "\n".join(lines)


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


def _hours(value: Any) -> str:
    hours = float(value or 0)
    return f"{hours:g} h"


def reminder_text(payload: dict[str, Any]) -> str:
    """`@someone llama-8b-r1 is still running after 8 h, ≈ $43.20 so far, $5.40/h now.`"""
    low, high = (float(c) for c in payload["cost"])
    running = duration_text(timedelta(seconds=int(payload["running_seconds"])))
    hourly = payload.get("hourly")
    now = f", {money_range(*hourly, approx=False)}/h now" if hourly else ""
    escalated = payload.get("escalate_to") or []
    also = (
        f"\n{' '.join(mention(u) for u in escalated)}: nobody answered the last reminder; you approved this "
        "launch, so you are asked too."
        if escalated
        else ""
    )
    return (
        f":hourglass: {mention(payload['requester'])} *{escape(payload.get('display_name'))}* is still running "
        f"after {running}, {money_range(low, high)} so far{now}. Still needed? *Keep running* holds the next "
        f"reminder for {_hours(payload.get('interval_hours'))}; *Stop now* asks to confirm, then stops it.{also}"
    )


def ran_text(payload: dict[str, Any]) -> str:
    """` Ran 3 h 12 min in all, ≈ $41.20.` for a stop or delete reply whose payload carries the meter."""
    if payload.get("ran_seconds") is None or not payload.get("cost"):
        return ""
    low, high = (float(c) for c in payload["cost"])
    span = duration_text(timedelta(seconds=int(payload["ran_seconds"])))
    said = f" Ran {span} in all, {money_range(low, high)}."
    if payload.get("unseen_seconds"):
        gap = duration_text(timedelta(seconds=int(payload["unseen_seconds"])))
        said += (
            f" It was last seen serving {gap} before it was found gone: that time may or may not have been "
            "billed, so the meter shows it as a range from nothing."
        )
    return said


def _sentence(text: str) -> str:
    """End a person's note with a full stop when it has no closing punctuation, so what follows reads."""
    text = text.strip()
    return text if text[-1:] in ".!?…" else text + "."


def decision_buttons(block_id: str, ref: str, *, withdraw: bool = True) -> dict[str, Any]:
    """Approve and Reject for a pending request (on its card and in the approver's App Home), and Withdraw
    for the person who asked (on the card: everyone sees it; the bot answers anyone else privately)."""
    extra = (
        [
            {
                "type": "button",
                "action_id": Action.WITHDRAW,
                "value": ref,
                "text": {"type": "plain_text", "text": "Withdraw"},
            }
        ]
        if withdraw
        else []
    )
    return {
        "type": "actions",
        "block_id": block_id,
        "elements": [
            {
                "type": "button",
                "action_id": Action.APPROVE,
                "style": "primary",
                "value": ref,
                "text": {"type": "plain_text", "text": "Approve"},
            },
            {
                "type": "button",
                "action_id": Action.REJECT,
                "style": "danger",
                "value": ref,
                "text": {"type": "plain_text", "text": "Reject"},
            },
            *extra,
        ],
    }
