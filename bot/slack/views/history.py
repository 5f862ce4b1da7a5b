"""`/endpoint history`: the audit trail of one endpoint, or the latest activity, one line per record."""

from __future__ import annotations

from typing import Any

from bot.domain.catalog import describe_hardware
from bot.domain.cost.estimate import format_dollars, replica_count
from bot.domain.policy.access import Act
from bot.domain.running import HistoryEntry, Managed
from bot.slack.text import SECTION_TEXT, code, escape, fit_lines, mention, truncate
from bot.slack.views.endpoints import auto_stop
from bot.slack.views.startup import seconds


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
            f"{replica_count(int(d.get('min_replicas') or 0), int(d.get('max_replicas') or 0))}"
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
            f"asked to {verb} {replica_count(low, high)} ({format_dollars(float(before[1]))}/h → "
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
        return f"scaled it to {replica_count(int(d['min_replicas']), int(d['max_replicas']))}"
    if action == "renamed":
        return f"renamed it to *{escape(d.get('display_name'))}*"
    if action == "timeout_changed":
        return f"set auto-stop to {auto_stop(d.get('inactive_timeout'))}"
    if action == "deleted":
        return "deleted it, once Together had stopped it" if d.get("after_stop") else "deleted it"
    if action == "delete_requested":
        return f"asked to delete it; Together stops it first (Together: {escape(d.get('state'))})"
    return escape(action)
