"""Replies in a request's thread, one per event the domain records (bot/domain/events.py).

Each payload is parsed once into its event type; every renderer matches on the type, so mypy names a kind
that has no reply. A stored payload that no longer parses is logged and shown as a plain generic line.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, assert_never

from pydantic import ValidationError

from bot.domain.catalog import Catalog
from bot.domain.command import again_command
from bot.domain.cost.estimate import replica_count
from bot.domain.cost.meter import duration_text, money_range
from bot.domain.events import (
    ActionDone,
    ActionFailed,
    Approved,
    Duplicate,
    Event,
    Expired,
    FirstReplica,
    KeptRunning,
    Launched,
    LaunchFailed,
    Reachable,
    Rejected,
    Reminder,
    SmokeTest,
    StateChanged,
    Unreachable,
    Withdrawn,
    parse_event,
)
from bot.domain.model import LaunchRequest
from bot.domain.policy.access import Act
from bot.domain.policy.approval import approvers_text, expiry_reason
from bot.domain.policy.tiers import plural
from bot.domain.states import FAILED, READY_TO_SERVE
from bot.slack.ids import Action
from bot.slack.metadata import EndpointRef
from bot.slack.text import SECTION_TEXT, code, escape, fit, mention, truncate
from bot.slack.views.blocks import button, state_icon
from bot.slack.views.changes import change_reply
from bot.slack.views.endpoints import auto_stop, dollar_range, refusal_text
from bot.slack.views.startup import first_replica_text, smoke_text

log = logging.getLogger(__name__)

SIMULATED_REPLY_NOTE = "_:test_tube: Simulated: nothing runs at Together._"
UNREADABLE = ":grey_question: An update about this request that the bot cannot show; its log has the details."


def read_event(payload: dict[str, Any]) -> Event | None:
    """The payload's event, or None (logged) when it is no event the bot knows."""
    try:
        return parse_event(payload)
    except ValidationError as exc:
        log.error("unreadable thread event %r: %s", payload.get("event"), exc)
        return None


def thread_text(
    request: LaunchRequest,
    event: Event | None,
    *,
    catalog: Catalog,
    inference_url: str | None,
    simulated: bool = False,
) -> str:
    """The reply's text; `inference_url` goes into the usage example (None: nothing lasting answers)."""
    text = UNREADABLE if event is None else reply_text(request, event, catalog, inference_url)
    return f"{text}\n{SIMULATED_REPLY_NOTE}" if simulated else text


def thread_blocks(event: Event | None, text: str) -> list[dict[str, Any]] | None:
    """Blocks for a reply that needs more than text (a reminder's buttons); None for plain text."""
    if not isinstance(event, Reminder):
        return None
    ref = EndpointRef(endpoint_id=event.endpoint_id).dump()
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}},
        {
            "type": "actions",
            "block_id": f"remind-{event.endpoint_id}"[:255],
            "elements": [
                button(Action.KEEP_RUNNING, "Keep running", ref),
                button(Action.STOP_NOW, "Stop now", ref, style="danger"),
            ],
        },
    ]


def reply_text(request: LaunchRequest, event: Event, catalog: Catalog, inference_url: str | None) -> str:
    if request.change_of is not None:
        said = change_reply(request, event)
        if said is not None:
            return said
    match event:
        case Withdrawn():
            return (
                f":leftwards_arrow_with_hook: {mention(request.requested_by)} withdrew the launch request. "
                "Nothing was launched."
            )
        case Approved():
            return _approved(event)
        case Expired():
            return (
                f":alarm_clock: {mention(event.requester or request.requested_by)} your launch request "
                f"#{request.id} expired: {expiry_reason(request)}, so nothing was launched. Ask again with "
                f"{code(again_command(request.draft, catalog))}."
            )
        case Rejected():
            return (
                f":no_entry: Rejected by {mention(event.user)}: {fit(event.note, SECTION_TEXT)}\n"
                f"{mention(request.requested_by)}, nothing was launched."
            )
        case Launched():
            return (
                f":rocket: Together accepted the launch. Endpoint {code(event.endpoint_id)}, "
                f"name {code(event.name)}. State: *{escape(event.state)}*"
            )
        case StateChanged():
            return state_reply(request, event, inference_url)
        case Duplicate():
            return _duplicate(event)
        case Unreachable():
            return (
                f":warning: Together has not answered the bot for about {event.minutes} minutes "
                f"({escape(truncate(str(event.message or ''), 300))}). Updates here are delayed, "
                "not lost; the bot keeps trying and will say when Together answers again."
            )
        case Reachable():
            return (
                f":white_check_mark: Together answers again. Current state: *{escape(str(event.state))}*"
                "; any change missed meanwhile follows."
            )
        case Reminder():
            return reminder_text(event)
        case KeptRunning():
            return (
                f":ok_hand: {mention(event.user)} keeps the endpoint running; the next reminder comes in "
                f"{hours(event.interval_hours)} if it still runs."
            )
        case ActionDone() | ActionFailed():
            return action_reply(event)
        case FirstReplica():
            return first_replica_text(event)
        case SmokeTest():
            return smoke_text(request, event)
        case LaunchFailed():
            where = f"HTTP {event.status}" if event.status else "no answer"
            tag = f", {escape(event.code)}" if event.code else ""
            return (
                f":x: {mention(event.requester or request.requested_by)} the launch failed. "
                f"Together said ({where}{tag}):\n> {escape(truncate(event.message or '', 1500))}\n"
                f"{escape(event.hint or '')}"
            )
        case _:
            assert_never(event)


def _approved(event: Approved) -> str:
    note = f" Note: {escape(_sentence(event.note))}" if event.note else ""
    count, needed = event.count or 1, event.needed or 1
    if needed <= 1:
        return f":white_check_mark: Approved by {mention(event.user)}.{note} Launching on Together now."
    if count < needed:
        left = needed - count
        return (
            f":ballot_box_with_check: {mention(event.user)} approved ({count} of {needed} "
            f"approvals).{note} {plural(left, 'more approval')} {'is' if left == 1 else 'are'} "
            "needed before the launch."
        )
    return (
        f":white_check_mark: Approved by {approvers_text(event.approvers or [event.user])} "
        f"({count} of {needed} approvals).{note} Launching on Together now."
    )


def _duplicate(event: Duplicate) -> str:
    people = " ".join(mention(u) for u in dict.fromkeys([event.requester, *(event.approvers or [])]) if u)
    created = str(event.created_at or "")[:16].replace("T", " ")
    return (
        f":warning: {people} Together lists another endpoint named *{escape(event.display_name)}*: "
        f"{code(event.endpoint_id or '')} (*{escape(event.state)}*"
        + (f", created {escape(created)} UTC" if created else "")
        + f"). The bot launched {code(event.launched or '')} for this request and does not run "
        "the other one. If it came from this launch (a create whose answer was lost and that Together "
        "completed later), it is billed while it runs: check it with "
        f"`/endpoint status {escape(event.endpoint_id)}` and delete it in Together's console if "
        "nobody needs it."
    )


def state_reply(request: LaunchRequest, event: StateChanged, inference_url: str | None) -> str:
    state = event.state
    icon = state_icon(state)
    line = f"{icon} State: *{escape(state)}*"
    if event.desired_replicas is not None:
        ready, desired = event.ready_replicas or 0, event.desired_replicas
        if ready > desired:  # scaling down: more replicas run than are wanted
            line += f" ({ready} replicas running, going down to {desired})"
        else:
            line += f" ({ready}/{desired} replicas ready)"
    if event.status_message and state not in READY_TO_SERVE:
        line += f": {escape(truncate(event.status_message, 300))}"
    if state in READY_TO_SERVE:
        name = event.name or ""
        checking = (
            " The bot sends it one tiny request now to check that it answers." if event.smoke_test else ""
        )
        if inference_url is None:
            return (
                f"{line}. The endpoint is serving, in the simulator only: there is nothing to call.{checking} "
                f"A real endpoint's reply here shows how to call it (`model` set to its name, here {code(name)})."
            )
        return (
            f"{line}. The endpoint is serving.{checking} Call it with `model` set to {code(name)}:\n"
            "```curl " + inference_url.rstrip("/") + "/chat/completions \\\n"
            '  -H "Authorization: Bearer $TOGETHER_API_KEY" -H "Content-Type: application/json" \\\n'
            '  -d \'{"model": "' + escape(name).replace("'", "") + '", '
            '"messages": [{"role": "user", "content": "Hello"}]}\'```'
        )
    requester = mention(event.requester or request.requested_by)
    ref = code(event.name or event.endpoint_id or "")
    if state in FAILED:
        return (
            f"{line}. {requester} Together reports the endpoint failed. It is not serving: `/endpoint "
            f"delete` {ref} removes it (approvers and admins), or ask for a new launch with other hardware."
        )
    if state == "DEGRADED" and not event.ready_replicas:
        return (
            f"{line}. {requester} no replica serves yet. Together keeps trying to place them (after about "
            f"6 hours it gives up and reports FAILED). Wait, or `/endpoint stop` {ref} and ask for other "
            "hardware."
        )
    if state == "STOPPED":
        return f"{line}.{ran_text(event)} The endpoint is not serving and not billed."
    if state == "DELETED":
        return (
            f"{icon} The endpoint no longer exists at Together; the bot stops following it.{ran_text(event)}"
        )
    return line


def hours(value: float | None) -> str:
    return f"{float(value or 0):g} h"


def reminder_text(event: Reminder) -> str:
    """`@someone llama-8b-r1 is still running after 8 h, ≈ $43.20 so far, $5.40/h now.`"""
    low, high = (float(c) for c in event.cost)
    running = duration_text(timedelta(seconds=event.running_seconds))
    now = f", {money_range(*event.hourly, approx=False)}/h now" if event.hourly else ""
    escalated = event.escalate_to or []
    also = (
        f"\n{' '.join(mention(u) for u in escalated)}: nobody answered the last reminder; you approved this "
        "launch, so you are asked too."
        if escalated
        else ""
    )
    return (
        f":hourglass: {mention(event.requester)} *{escape(event.display_name)}* is still running "
        f"after {running}, {money_range(low, high)} so far{now}. Still needed? *Keep running* holds the next "
        f"reminder for {hours(event.interval_hours)}; *Stop now* asks to confirm, then stops it.{also}"
    )


def ran_text(event: StateChanged | ActionDone) -> str:
    """` Ran 3 h 12 min in all, ≈ $41.20.` for a stop or delete reply whose event carries the meter."""
    if event.ran_seconds is None or not event.cost:
        return ""
    low, high = (float(c) for c in event.cost)
    span = duration_text(timedelta(seconds=event.ran_seconds))
    said = f" Ran {span} in all, {money_range(low, high)}."
    if event.unseen_seconds:
        gap = duration_text(timedelta(seconds=event.unseen_seconds))
        said += (
            f" It was last seen serving {gap} before it was found gone: that time may or may not have been "
            "billed, so the meter shows it as a range from nothing."
        )
    return said


def action_reply(event: ActionDone | ActionFailed) -> str:
    """The reply for an act recorded by LifecycleService (events "action" and "action_failed")."""
    act = Act(event.action)
    who = event.user or ""
    if isinstance(event, ActionFailed):
        return refusal_text(act, "the endpoint", event.status, event.code, event.message, event.hint, who)
    state = f"*{escape(event.state)}*"
    if act is Act.STOP:
        return (
            f"{state_icon('STOPPING')} {mention(who)} stopped the endpoint. Together reports {state}; billing "
            "stops once it is STOPPED."
        )
    if act is Act.START:
        return (
            f":arrow_forward: {mention(who)} started the endpoint. Together reports {state}; a reply follows "
            "when it serves."
        )
    if act is Act.SCALE:
        return (
            f":left_right_arrow: {mention(who)} scaled the endpoint to "
            f"{replica_count(event.min_replicas or 0, event.max_replicas or 0)}: "
            f"{dollar_range(event.dollars_per_hour)} while running "
            f"(was {dollar_range(event.previous_dollars_per_hour)})."
        )
    if act is Act.RENAME:
        old = (event.previous or {}).get("display_name")
        return (
            f":pencil2: {mention(who)} renamed the endpoint to *{escape(event.display_name)}* "
            f"(was *{escape(old)}*)."
        )
    if act is Act.TIMEOUT:
        return (
            f":alarm_clock: {mention(who)} set the endpoint to stop on its own "
            f"{auto_stop(event.inactive_timeout)}."
        )
    if event.pending:
        return (
            f"{state_icon('DELETED')} {mention(who)} asked to delete the endpoint. Together has to stop it "
            f"first and reports {state}; the bot deletes it once it is STOPPED and says so here."
        )
    if event.after_stop:
        return (
            f"{state_icon('DELETED')} The endpoint is stopped, so the bot deleted it as {mention(who)} asked. "
            "It no longer exists at Together, costs nothing, and the bot no longer follows it."
            f"{ran_text(event)}"
        )
    return (
        f"{state_icon('DELETED')} {mention(who)} deleted the endpoint. It no longer exists at Together, costs "
        f"nothing, and the bot no longer follows it.{ran_text(event)}"
    )


def _sentence(text: str) -> str:
    """End a person's note with a full stop when it has no closing punctuation, so what follows reads."""
    text = text.strip()
    return text if text[-1:] in ".!?…" else text + "."
