"""Block Kit and text for running endpoints: lists, status, confirmations, replies, history, App Home.

Pure functions of domain records. User-supplied text (display names, Together's messages) is escaped.
"""

from __future__ import annotations

from typing import Any

from bot.domain.catalog import describe_hardware
from bot.domain.changes import ChangeAsked, asked_text
from bot.domain.command_help import usage
from bot.domain.cost.estimate import CostEstimate, format_dollars, replica_count
from bot.domain.cost.meter import Meter
from bot.domain.errors import UserError
from bot.domain.model import LaunchRequest
from bot.domain.policy.access import Act
from bot.domain.provider import HardwareOption
from bot.domain.running import (
    TOGETHER_DEFAULT_TIMEOUT,
    ActionRefused,
    HistoryEntry,
    Home,
    Listing,
    Managed,
    Outcome,
    Status,
)
from bot.slack.change_views import change_summary
from bot.slack.ids import Callback
from bot.slack.messages import STATE_ICONS, decision_buttons, ran_text, spent_text
from bot.slack.metadata import EndpointActionMeta, RequestRef
from bot.slack.spend import month_home_text
from bot.slack.text import SECTION_TEXT, code, escape, fit_lines, mention, truncate

MAX_LISTED = 40  # sections per message; Slack allows 50 blocks
HOME_MINE = 20  # sections of your endpoints in the App Home (Slack allows 100 blocks in a view)
HOME_WAITING = 15  # requests waiting for you, two blocks each
HOME_ASKED = 10
MORE_ENDPOINTS = "`/endpoint status <endpoint>` shows any one of them"
Links = dict[int, str]  # request id -> permalink of its card


def _icon(state: str) -> str:
    return STATE_ICONS.get(state, ":grey_question:")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000), "verbatim": True}}


def _context(text: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate(text, 3000), "verbatim": True}],
    }


def name_of(managed: Managed) -> str:
    return f"*{escape(managed.display_name)}*"


def replicas(low: int, high: int) -> str:
    return replica_count(low, high)


def auto_stop(minutes: int | None) -> str:
    if minutes is None:
        return f"after {TOGETHER_DEFAULT_TIMEOUT} idle minutes (Together's default)"
    return "never" if minutes == 0 else f"after {minutes} idle minutes"


def hourly(cost: CostEstimate) -> str:
    """`$8.00–$20.01/h`: what it costs while running."""
    return dollar_range([cost.at_min, cost.at_max])


def dollar_range(amounts: Any) -> str:
    """[8.0, 20.01] -> `$8.00–$20.01/h`; [4.0, 4.0] -> `$4.00/h`."""
    low, high = (float(a) for a in amounts)
    return f"{format_dollars(low)}/h" if low == high else f"{format_dollars(low)}–{format_dollars(high)}/h"


def thread_link(request: LaunchRequest, links: Links) -> str:
    link = links.get(request.id)
    return f"<{link}|thread>" if link else f"request #{request.id}"


# --- list ---------------------------------------------------------------------------------------


def listing_blocks(listing: Listing, scope: str, links: Links) -> tuple[str, list[dict[str, Any]]]:
    mine = scope == "mine"
    title = "Your endpoints" if mine else "Endpoints launched through the bot"
    items = listing.endpoints
    blocks: list[dict[str, Any]] = [_section(f"*{title}* ({len(items)})")]
    if not items:
        blocks.append(
            _section(
                ("You have no endpoints" if mine else "No endpoints launched through the bot exist")
                + " now. `/endpoint create <model> <hardware> <replicas>` asks for one."
            )
        )
    for m in items[:MAX_LISTED]:
        blocks.append(_section(endpoint_summary(m, links, listing.spent.get(m.id))))
    if len(items) > MAX_LISTED:
        rest = f"`/endpoint list mine` shows yours; {MORE_ENDPOINTS}." if not mine else f"{MORE_ENDPOINTS}."
        blocks.append(_context(f"…and {len(items) - MAX_LISTED} more. {rest}"))
    if listing.others is not None:
        blocks.append({"type": "divider"})
        header = f"*Other dedicated endpoints on the Together account* ({len(listing.others)}): not launched through the bot"
        lines = [
            f"• {code(e.name)} · {code(e.id)} · {code(e.model)} · {_icon(e.state)} {escape(e.state)}"
            for e in listing.others
        ]
        more = "…and {n} more: Together's console lists them all; `/endpoint status <endpoint>` shows one."
        body = fit_lines([header, *lines] if lines else [header, "None."], SECTION_TEXT, more)
        blocks.append(_section(body))
    text = f"{title}: {len(items)}"
    return text, blocks


def endpoint_summary(m: Managed, links: Links, spent: Meter | None = None) -> str:
    hardware = describe_hardware(m.endpoint.hardware)
    cost = hourly(m.cost) + (" while running" if not m.running else "")
    so_far = f"\ncost so far: {spent_text(spent)}" if spent is not None else ""
    return (
        f"{_icon(m.state)} {name_of(m)} · *{escape(m.state)}*\n"
        f"{code(m.id)} · {code(m.endpoint.model)} on {escape(hardware)} · "
        f"{replicas(m.min_replicas, m.max_replicas)} · {cost}{so_far}\n"
        f"launched by {mention(m.requested_by)} · {thread_link(m.request, links)}" + _deleting_note(m)
    )


def _deleting_note(m: Managed) -> str:
    asked = m.endpoint.delete_requested_by
    if asked is None:
        return ""
    return f"\n:wastebasket: being deleted ({mention(asked)} asked): the bot deletes it once Together has stopped it"


# --- status -------------------------------------------------------------------------------------


def status_blocks(status: Status, links: Links) -> tuple[str, list[dict[str, Any]]]:
    info, m = status.info, status.managed
    title = escape(m.display_name if m else (info.display_name or info.name))
    lines = [
        f"{_icon(info.state)} *{title}* · *{escape(info.state)}* (just now, from Together)",
        f"• Id {code(info.id)} · name {code(info.name)} (the `model` to call it with)",
        f"• Model {code(info.model)}"
        + (
            f" on {escape(describe_hardware(info.hardware))} ({code(info.hardware)})" if info.hardware else ""
        ),
    ]
    if info.min_replicas is not None and info.max_replicas is not None:
        line = f"• {replicas(info.min_replicas, info.max_replicas)}"
        if m is not None:
            cost = CostEstimate(m.request.cents_per_minute, info.min_replicas, info.max_replicas)
            if info.max_replicas > 1:  # one replica's price is the whole price: no "1 replica at $x each"
                line += f" at {format_dollars(cost.each)}/h each"
            line += f": {hourly(cost)} while running"
        lines.append(line)
    if status.spent is not None:
        lines.append(f"• Cost so far: {spent_text(status.spent)}")
    if m is not None:
        lines.append(f"• Auto-stop: {auto_stop(m.inactive_timeout)}")
        approved = f", approved by {mention(m.request.approved_by)}" if m.request.approved_by else ""
        lines.append(f"• Launched by {mention(m.requested_by)}{approved} · {thread_link(m.request, links)}")
        if m.endpoint.delete_requested_by:
            lines.append(
                f"• Being deleted ({mention(m.endpoint.delete_requested_by)} asked): the bot deletes it once "
                "Together has stopped it"
            )
    else:
        lines.append("• _Not launched through the bot_: the bot does not follow it or act on it.")
    if info.created_at:
        lines.append(
            f"• Created {info.created_at:%Y-%m-%d %H:%M} UTC"
            + (f" by {escape(info.owner)}" if info.owner else "")
        )
    return f"{info.name}: {info.state}", [_section("\n".join(lines))]


# --- hardware -----------------------------------------------------------------------------------


def hardware_text(model: str, options: list[HardwareOption]) -> str:
    lines = [f"Hardware that fits {code(model)}, cheapest first (price per replica):"]
    for h in options:
        availability = h.availability or "availability unknown"
        mark = {"available": ":white_check_mark:", "insufficient": ":warning:", "unavailable": ":x:"}.get(
            availability, ":grey_question:"
        )
        lines.append(
            f"• {code(h.id)}: {h.gpu_count}× {escape(h.gpu_type)}, {h.gpu_memory_gb:g} GB each · "
            f"{format_dollars(h.dollars_per_hour)}/h · {mark} {escape(availability)}"
        )
    lines.append("Ask for one with `/endpoint create <model> <hardware> <replicas>`.")
    return "\n".join(lines)


# --- help ---------------------------------------------------------------------------------------


def help_text(commands: list[str], privileged: bool) -> str:
    text = usage(commands)
    if not privileged:
        own = [f"`{c}`" for c in ("stop", "start", "scale", "rename", "timeout") if c in commands]
        text += (
            f"\n{', '.join(own[:-1])} and {own[-1]} work on the endpoints you asked for; "
            "approvers and admins can act on every endpoint and delete them."
        )
    return text


# --- history ------------------------------------------------------------------------------------


def history_text(managed: Managed | None, entries: list[HistoryEntry]) -> str:
    title = f"*History of {escape(managed.display_name)}*" if managed else "*Latest activity*"
    if not entries:
        return title + "\nNothing recorded yet."
    lines = [title]
    for e in entries:
        where = "" if managed else f" · {escape(e.label)}"
        lines.append(f"• `{e.at:%Y-%m-%d %H:%M}`{where} · {_actor(e.actor)} {describe_event(e)}")
    more = "…and {n} more. `bot audit` on the bot's host shows the whole trail" + (
        "." if managed else "; `/endpoint history <endpoint>` shows one endpoint's."
    )
    return fit_lines(lines, SECTION_TEXT, more)


def _actor(actor: str) -> str:
    return {"bot": "the bot", "together": "Together"}.get(actor, mention(actor))


def describe_event(e: HistoryEntry) -> str:
    d = e.detail
    action = e.action
    if action == "requested":
        return (
            f"asked for {code(d.get('model'))} on {escape(describe_hardware(str(d.get('hardware'))))}, "
            f"{replicas(int(d.get('min_replicas') or 0), int(d.get('max_replicas') or 0))}"
        )
    if action in ("approved", "rejected"):
        note = f": {escape(truncate(str(d['note']), 200))}" if d.get("note") else ""
        counted = f" ({d['approval']} of {d['of']})" if d.get("of") else ""
        return f"{action} the launch{counted}{note}"
    if action == "expired":
        waited = escape(str(d.get("waited") or "the time allowed"))
        got = d.get("approvals") or []
        if got:
            return f"expired the request after {waited}, with {len(got)} of {d.get('approvals_needed')} approvals"
        return f"expired the request: nobody decided within {waited}"
    if action == "launch_started":
        return "started the launch"
    if action == "launched":
        return f"launched it as {code(e.endpoint_id)} ({escape(d.get('state'))})"
    if action == "launch_failed":
        return f"refused the launch: {escape(truncate(str(d.get('message')), 200))}"
    if action == "state_changed":
        return f"moved it {escape(d.get('previous'))} → *{escape(d.get('state'))}*"
    if action == "smoke_test":
        from bot.slack.startup_views import seconds

        if d.get("ok"):
            return f"smoke-tested it: first token after {seconds(d.get('ttft_ms'))}, done after {seconds(d.get('total_ms'))}"
        why = escape(truncate(str(d.get("message") or d.get("code") or ""), 200))
        return (
            f"smoke-tested it: no answer ({escape(str(d.get('code') or d.get('status') or 'error'))}: {why})"
        )
    if action == "settings_seen":
        changed = ", ".join(f"{k} {escape(str(v))}" for k, v in d.items())
        return f"reports settings changed outside the bot: {changed}"
    if action.endswith("_failed") and action.removesuffix("_failed") in set(Act):
        verb = Act(action.removesuffix("_failed")).verb
        status = f"HTTP {d['status']}" if d.get("status") else "no answer"
        return f"tried to {verb} it; Together said ({status}): {escape(truncate(str(d.get('message')), 200))}"
    if action.startswith("change_"):
        return _change_phrase(action.removeprefix("change_"), d)
    return _done_phrase(action, d)


def _change_phrase(what: str, d: dict[str, Any]) -> str:
    """The history line of a change request's event (change_requested, change_approved, …)."""
    if what == "requested":
        low, high = int(d.get("min_replicas") or 0), int(d.get("max_replicas") or 0)
        before, after = d.get("previous_dollars_per_hour") or [0, 0], d.get("dollars_per_hour") or [0, 0]
        verb = "start it at" if d.get("change") == "start" else "scale it to"
        return (
            f"asked to {verb} {replicas(low, high)} ({format_dollars(float(before[1]))}/h → "
            f"{format_dollars(float(after[1]))}/h at max), which needs approval"
        )
    counted = f" ({d['approval']} of {d['of']})" if d.get("of") else ""
    note = f": {escape(truncate(str(d['note']), 200))}" if d.get("note") else ""
    reason = f": {escape(truncate(str(d['reason']), 200))}" if d.get("reason") else ""
    return {
        "approved": f"approved the change{counted}{note}",
        "rejected": f"rejected the change{note}",
        "withdrew": "withdrew the change",
        "withdrawn": "withdrew the change",
        "expired": "expired the change request: nobody decided in time",
        "applied": "applied the approved change at Together",
        "failed": f"could not apply the change{reason}",
        "stale": f"closed the change request{reason}",
    }.get(what, escape(f"change {what}"))


def _done_phrase(action: str, d: dict[str, Any]) -> str:
    if action == "stopped":
        return f"stopped it (Together: {escape(d.get('state'))})"
    if action == "started":
        return f"started it (Together: {escape(d.get('state'))})"
    if action == "scaled":
        return f"scaled it to {replicas(int(d['min_replicas']), int(d['max_replicas']))}"
    if action == "renamed":
        return f"renamed it to *{escape(d.get('display_name'))}*"
    if action == "timeout_changed":
        return f"set auto-stop to {auto_stop(d.get('inactive_timeout'))}"
    if action == "deleted":
        return "deleted it, once Together had stopped it" if d.get("after_stop") else "deleted it"
    if action == "delete_requested":
        return f"asked to delete it; Together stops it first (Together: {escape(d.get('state'))})"
    return escape(action)


# --- confirmations ------------------------------------------------------------------------------


def confirm_modal(act: Act, m: Managed, meta: EndpointActionMeta) -> dict[str, Any]:
    """The stop or delete dialog: what will happen and what it saves."""
    cost = escape(m.cost.describe())
    if m.running:
        saves = f"It saves {cost}: Together bills every running replica, busy or idle."
    else:
        saves = f"It is {escape(m.state)}, so it costs nothing now; running, it costs {cost}."
    if act is Act.STOP:
        title, submit = "Stop endpoint", "Stop it"
        text = (
            f"Stop {name_of(m)} ({code(m.id)})?\n"
            f"• Requests to {code(m.name)} fail until someone starts it again.\n"
            f"• {saves}\n"
            "• Its settings stay; `/endpoint start` brings it back, which takes a few minutes. Together may "
            "refuse to start v1 endpoints again once stopped (it has switched that off for some accounts)."
        )
    else:
        title, submit = "Delete endpoint", "Delete for good"
        text = (
            f"Delete {name_of(m)} ({code(m.id)})?\n"
            "• *This cannot be undone.* The endpoint and its name "
            f"{code(m.name)} are gone for good; a new launch gets a new name.\n"
            f"• {saves}\n"
            "• To pause billing and keep it, stop it instead (`/endpoint stop`)."
        )
    return {
        "type": "modal",
        "callback_id": Callback.STOP_CONFIRM if act is Act.STOP else Callback.DELETE_CONFIRM,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": meta.dump(),
        "blocks": [_section(text)],
    }


# --- answers to the person who acted ----------------------------------------------------------


def outcome_text(outcome: Outcome | ChangeAsked, links: Links) -> str:
    if isinstance(outcome, ChangeAsked):
        return asked_text(outcome)
    before, after = outcome.before, outcome.after
    thread = thread_link(after.request, links)
    state = f"*{escape(outcome.state)}*"
    act = outcome.act
    if act is Act.STOP:
        return (
            f"Stopping {name_of(before)}: Together reports {state}. Billing pauses once it is STOPPED; "
            f"updates follow in its {thread}."
        )
    if act is Act.START:
        return (
            f"Starting {name_of(before)}: Together reports {state}. It serves once STARTED (usually a few "
            f"minutes); updates follow in its {thread}."
        )
    if act is Act.SCALE:
        return (
            f"{name_of(after)} now runs {replicas(after.min_replicas, after.max_replicas)}: "
            f"{hourly(after.cost)} while running (was {hourly(before.cost)})."
        )
    if act is Act.RENAME:
        return f"{name_of(before)} is now called {name_of(after)}."
    if act is Act.TIMEOUT:
        return f"{name_of(after)} now stops on its own {auto_stop(after.inactive_timeout)}."
    if outcome.state != "DELETED":  # Together must stop it first (v2); the tracker finishes the deletion
        return (
            f"Deleting {name_of(before)}: Together has to stop it first and reports {state}. The bot deletes it "
            f"once it is STOPPED and says so in its {thread}; nothing more to do."
        )
    return f"Deleted {name_of(before)}: it no longer exists at Together and the bot no longer follows it."


def error_text(error: UserError) -> str:
    if isinstance(error, ActionRefused):
        return refusal_text(
            error.act, error.label, error.status, error.code, error.provider_message, error.hint
        )
    return error.message


def refusal_text(
    act: Act, label: str, status: Any, code_: Any, message: Any, hint: Any, who: str | None = None
) -> str:
    where = f"HTTP {status}" if status else "no answer"
    tag = f", {escape(str(code_))}" if code_ else ""
    subject = (
        f"{mention(who)} tried to {act.verb} {label}, but Together"
        if who
        else f"Together did not {act.verb} {label}. It"
    )
    return (
        f":x: {subject} said ({where}{tag}):\n> {escape(truncate(str(message or ''), 1500))}\n"
        f"{escape(str(hint or ''))}"
    )


# --- thread replies -----------------------------------------------------------------------------


def action_reply(request: LaunchRequest, payload: dict[str, Any]) -> str:
    """The thread reply for an act recorded by LifecycleService (events "action" and "action_failed")."""
    act = Act(str(payload["action"]))
    who = str(payload.get("user") or "")
    if payload.get("event") == "action_failed":
        return refusal_text(
            act,
            "the endpoint",
            payload.get("status"),
            payload.get("code"),
            payload.get("message"),
            payload.get("hint"),
            who,
        )
    state = f"*{escape(payload.get('state'))}*"
    if act is Act.STOP:
        return f"{_icon('STOPPING')} {mention(who)} stopped the endpoint. Together reports {state}; billing stops once it is STOPPED."
    if act is Act.START:
        return f":arrow_forward: {mention(who)} started the endpoint. Together reports {state}; a reply follows when it serves."
    if act is Act.SCALE:
        return (
            f":left_right_arrow: {mention(who)} scaled the endpoint to "
            f"{replicas(int(payload['min_replicas']), int(payload['max_replicas']))}: "
            f"{dollar_range(payload['dollars_per_hour'])} while running "
            f"(was {dollar_range(payload['previous_dollars_per_hour'])})."
        )
    if act is Act.RENAME:
        old = (payload.get("previous") or {}).get("display_name")
        return f":pencil2: {mention(who)} renamed the endpoint to *{escape(payload.get('display_name'))}* (was *{escape(old)}*)."
    if act is Act.TIMEOUT:
        return f":alarm_clock: {mention(who)} set the endpoint to stop on its own {auto_stop(payload.get('inactive_timeout'))}."
    if payload.get("pending"):
        return (
            f"{_icon('DELETED')} {mention(who)} asked to delete the endpoint. Together has to stop it first and "
            f"reports {state}; the bot deletes it once it is STOPPED and says so here."
        )
    if payload.get("after_stop"):
        return (
            f"{_icon('DELETED')} The endpoint is stopped, so the bot deleted it as {mention(who)} asked. It no "
            f"longer exists at Together, costs nothing, and the bot no longer follows it.{ran_text(payload)}"
        )
    return (
        f"{_icon('DELETED')} {mention(who)} deleted the endpoint. It no longer exists at Together, costs nothing, "
        f"and the bot no longer follows it.{ran_text(payload)}"
    )


# --- App Home -----------------------------------------------------------------------------------


def home_view(home: Home, links: Links) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Your Together endpoints"}},
    ]
    if home.mine:
        for m in home.mine[:HOME_MINE]:
            blocks.append(_section(endpoint_summary(m, links, home.spent.get(m.id))))
        if len(home.mine) > HOME_MINE:
            rest = f"`/endpoint list mine` lists them all; {MORE_ENDPOINTS}."
            blocks.append(_context(f"…and {len(home.mine) - HOME_MINE} more. {rest}"))
    else:
        blocks.append(
            _section("You have no endpoints. `/endpoint create <model> <hardware> <replicas>` asks for one.")
        )
    if home.month is not None:
        blocks.append(_section(month_home_text(home.month)))
    if home.asked:
        lines = ["*Your requests waiting for approval*"]
        lines += [f"• {_request_line(r)}" for r in home.asked[:HOME_ASKED]]
        more = "…and {n} more: each has its card in the channel where you asked."
        blocks.append(
            _section(fit_lines(lines, SECTION_TEXT, more, hidden=max(0, len(home.asked) - HOME_ASKED)))
        )
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Waiting for your approval"}})
    if not home.waiting:
        blocks.append(_section("Nothing is waiting for you."))
    for r in home.waiting[:HOME_WAITING]:
        ref = RequestRef(request_id=r.id, channel_id=r.channel_id, message_ts=r.message_ts, home=True).dump()
        blocks.append(
            _section(f"{_request_line(r)}\nasked by {mention(r.requested_by)} in <#{r.channel_id}>")
        )
        blocks.append(decision_buttons(f"home-decide-{r.id}", ref, withdraw=False))
    if len(home.waiting) > HOME_WAITING:
        blocks.append(
            _context(
                f"…and {len(home.waiting) - HOME_WAITING} more waiting for you: decide these first, or use "
                "the Approve and Reject buttons on their cards in the channel."
            )
        )
    blocks.append(
        _context("`/endpoint help` lists the commands. This tab is refreshed each time you open it.")
    )
    return {"type": "home", "blocks": blocks[:100]}


def _request_line(r: LaunchRequest) -> str:
    d = r.draft
    cost = CostEstimate(r.cents_per_minute, d.min_replicas, d.max_replicas)
    progress = f", {len(r.approvals)} of {r.approvals_needed} approvals" if r.approvals_needed > 1 else ""
    if r.change_of is not None:
        return f"*Change request #{r.id}* (of request #{r.change_of}): {escape(change_summary(r))}{progress}"
    return (
        f"*Request #{r.id}*: {code(d.model)} on {escape(describe_hardware(d.hardware))}, "
        f"{replicas(d.min_replicas, d.max_replicas)}, {hourly(cost)}{progress}"
    )
