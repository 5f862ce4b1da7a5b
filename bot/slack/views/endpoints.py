"""Block Kit and text for running endpoints: lists, status, hardware, help, confirmations, and the answers
to the person who acted.

Pure functions of domain records. User-supplied text (display names, Together's messages) is escaped.
"""

from __future__ import annotations

from typing import Any

from bot.domain.catalog import describe_hardware
from bot.domain.changes import ChangeAsked, asked_text
from bot.domain.command import usage
from bot.domain.cost.estimate import CostEstimate, format_dollars, replica_count
from bot.domain.cost.meter import Meter
from bot.domain.errors import UserError
from bot.domain.model import LaunchRequest
from bot.domain.policy.access import Act
from bot.domain.provider import HardwareOption
from bot.domain.running import (
    TOGETHER_DEFAULT_TIMEOUT,
    ActionRefused,
    Listing,
    Managed,
    Outcome,
    Status,
)
from bot.slack.ids import Callback
from bot.slack.metadata import EndpointActionMeta
from bot.slack.text import SECTION_TEXT, code, escape, fit_lines, mention, truncate
from bot.slack.views.blocks import context, section, state_icon
from bot.slack.views.card import spent_text

MAX_LISTED = 40  # sections per message; Slack allows 50 blocks
MORE_ENDPOINTS = "`/endpoint status <endpoint>` shows any one of them"
Links = dict[int, str]  # request id -> permalink of its card


def name_of(managed: Managed) -> str:
    return f"*{escape(managed.display_name)}*"


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
    blocks: list[dict[str, Any]] = [section(f"*{title}* ({len(items)})")]
    if not items:
        blocks.append(
            section(
                ("You have no endpoints" if mine else "No endpoints launched through the bot exist")
                + " now. `/endpoint create <model> <hardware> <replicas>` asks for one."
            )
        )
    for m in items[:MAX_LISTED]:
        blocks.append(section(endpoint_summary(m, links, listing.spent.get(m.id))))
    if len(items) > MAX_LISTED:
        rest = f"`/endpoint list mine` shows yours; {MORE_ENDPOINTS}." if not mine else f"{MORE_ENDPOINTS}."
        blocks.append(context(f"…and {len(items) - MAX_LISTED} more. {rest}"))
    if listing.others is not None:
        blocks.append({"type": "divider"})
        header = f"*Other dedicated endpoints on the Together account* ({len(listing.others)}): not launched through the bot"
        lines = [
            f"• {code(e.name)} · {code(e.id)} · {code(e.model)} · {state_icon(e.state)} {escape(e.state)}"
            for e in listing.others
        ]
        more = "…and {n} more: Together's console lists them all; `/endpoint status <endpoint>` shows one."
        body = fit_lines([header, *lines] if lines else [header, "None."], SECTION_TEXT, more)
        blocks.append(section(body))
    text = f"{title}: {len(items)}"
    return text, blocks


def endpoint_summary(m: Managed, links: Links, spent: Meter | None = None) -> str:
    hardware = describe_hardware(m.endpoint.hardware)
    cost = hourly(m.cost) + (" while running" if not m.running else "")
    so_far = f"\ncost so far: {spent_text(spent)}" if spent is not None else ""
    return (
        f"{state_icon(m.state)} {name_of(m)} · *{escape(m.state)}*\n"
        f"{code(m.id)} · {code(m.endpoint.model)} on {escape(hardware)} · "
        f"{replica_count(m.min_replicas, m.max_replicas)} · {cost}{so_far}\n"
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
        f"{state_icon(info.state)} *{title}* · *{escape(info.state)}* (just now, from Together)",
        f"• Id {code(info.id)} · name {code(info.name)} (the `model` to call it with)",
        f"• Model {code(info.model)}"
        + (
            f" on {escape(describe_hardware(info.hardware))} ({code(info.hardware)})" if info.hardware else ""
        ),
    ]
    if info.min_replicas is not None and info.max_replicas is not None:
        line = f"• {replica_count(info.min_replicas, info.max_replicas)}"
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
    return f"{info.name}: {info.state}", [section("\n".join(lines))]


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
        "blocks": [section(text)],
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
            f"{name_of(after)} now runs {replica_count(after.min_replicas, after.max_replicas)}: "
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
