"""Every text a person types is bounded where it is typed and where it is shown: what the bot renders from
long or many things stays within what Slack accepts, says how many were left out and how to see them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain.catalog import Catalog
from bot.domain.model import EndpointRecord, LaunchDraft, LaunchRequest, RequestStatus
from bot.domain.policy.tiers import LaunchPolicy
from bot.domain.provider import EndpointInfo
from bot.domain.running import HistoryEntry, Home, Listing, Managed
from bot.sandbox.block_kit_rules import message_problems, view_problems
from bot.slack.ids import Block
from bot.slack.text import escape, fit, fit_lines
from bot.slack.views.blocks import section
from bot.slack.views.endpoints import listing_blocks
from bot.slack.views.history import history_text
from bot.slack.views.home import home_view
from bot.slack.views.renderer import Renderer
from tests.support.launching import launch_text, request_launch
from tests.support.stack import APPROVER, CHANNEL, REQUESTER, Stack

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
NASTY = "<!channel> & <@U1> " * 60  # escapes to four or five times its length


def request(i: int, *, status: RequestStatus = RequestStatus.PENDING, **extra: Any) -> LaunchRequest:
    draft = LaunchDraft(
        "meta-llama/Llama-3-8b-chat-hf", "1x_nvidia_h100_80gb_sxm", 1, 2, display_name=NASTY[:100]
    )
    return LaunchRequest(
        id=i, team_id="T0SIM", channel_id=CHANNEL, requested_by=REQUESTER, draft=draft, cents_per_minute=5.0,
        status=status, requested_at=NOW, **extra,
    )  # fmt: skip


def managed(i: int) -> Managed:
    endpoint = EndpointRecord(
        id=f"endpoint-{i:04d}", request_id=i, name=f"llama-8b-r{i}", model="meta-llama/Llama-3-8b-chat-hf",
        hardware="1x_nvidia_h100_80gb_sxm", state="STARTED", state_changed_at=NOW, created_at=NOW,
    )  # fmt: skip
    r = request(i, status=RequestStatus.LAUNCHED, endpoint=endpoint)
    return Managed(r, endpoint, NASTY[:100], 1, 2, 60)


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b.get("type") == "section" and b.get("text")]


# --- the one helper -----------------------------------------------------------------------------------


def test_fit_measures_after_escaping_and_never_splits_an_escape() -> None:
    assert fit("a < b", 100) == "a &lt; b"
    cut = fit("<" * 1000, 3000)
    assert len(cut) <= 3000 and cut.endswith("…") and cut[:-1] == "&lt;" * 749
    assert fit("ab<cd", 6) == "ab…"  # `&lt;` would not fit whole: it is left out, not cut in two
    assert fit(None, 10) == "" and escape(fit("x" * 5, 3)) == "xx…"


def test_fit_lines_keeps_whole_lines_and_counts_the_rest() -> None:
    lines = [f"line {i} " + "x" * 90 for i in range(100)]
    text = fit_lines(lines, 3000, "…and {n} more: see `elsewhere`.")
    kept = text.splitlines()
    assert len(text) <= 3000 and kept[-1] == f"…and {100 - len(kept) + 1} more: see `elsewhere`."
    assert kept[:-1] == lines[: len(kept) - 1]
    assert fit_lines(lines[:3], 3000, "…{n}") == "\n".join(lines[:3])


# --- what the bot renders -----------------------------------------------------------------------------


def test_a_long_reject_reason_gives_a_card_slack_accepts() -> None:
    text, blocks = Renderer(Catalog(), LaunchPolicy.from_environment([APPROVER])).card(
        request(
            7,
            status=RequestStatus.REJECTED,
            decision="rejected",
            decided_by=APPROVER,
            decision_note="<" * 1000,
        )
    )
    assert message_problems({"text": text, "blocks": blocks}) == []
    (status,) = [b["text"]["text"] for b in blocks if b.get("block_id") == Block.DECISION]
    assert status.startswith(f":no_entry: Rejected by <@{APPROVER}>: &lt;") and status.endswith("…")
    assert len(status) <= 3000


def test_list_all_with_many_endpoints_stays_within_a_message() -> None:
    others = [
        EndpointInfo(
            id=f"endpoint-x{i:04d}", name=f"someone-else-{i}-" + "n" * 60, model="m" * 60, state="STARTED"
        )
        for i in range(120)
    ]
    listing = Listing(endpoints=[managed(i) for i in range(1, 61)], others=others)
    text, blocks = listing_blocks(listing, "all", {})
    assert message_problems({"text": text, "blocks": blocks}) == [] and len(blocks) <= 50
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "…and 20 more. `/endpoint list mine` shows yours; `/endpoint status &lt;endpoint&gt;`" not in shown
    assert (
        "…and 20 more. `/endpoint list mine` shows yours; `/endpoint status <endpoint>` shows any one"
        in shown
    )
    others_section = section_texts(blocks)[-1]
    assert "more: Together's console lists them all" in others_section and len(others_section) <= 3000


def test_the_app_home_with_many_requests_stays_within_a_view() -> None:
    home = Home(
        mine=[managed(i) for i in range(1, 31)],
        waiting=[request(i) for i in range(100, 140)],
        asked=[request(i) for i in range(200, 260)],
    )
    view = home_view(home, {})
    assert view_problems(view) == [] and len(view["blocks"]) <= 100
    shown = json.dumps(view, ensure_ascii=False)
    assert "…and 10 more. `/endpoint list mine` lists them all" in shown
    assert "…and 25 more waiting for you" in shown
    assert "more: each has its card in the channel where you asked." in shown


def test_history_with_long_entries_stays_within_a_section() -> None:
    entries = [
        HistoryEntry(NOW, APPROVER, "rejected", 7, None, label=NASTY[:100], detail={"note": "<" * 1000})
        for _ in range(40)
    ]
    text = history_text(None, entries)
    assert len(text) <= 3000 and "`/endpoint history <endpoint>` shows one endpoint's" in text
    assert message_problems({"text": text, "blocks": [section(text)]}) == []


# --- typed by a person --------------------------------------------------------------------------------

pytestmark = pytest.mark.backend(
    "v1", reason="Slack-side bounds that do not depend on the Together API; the flow suites cover v2"
)


def test_a_display_name_over_100_characters_is_refused_at_the_command(stack: Stack) -> None:
    stack.slack.command(REQUESTER, f"{launch_text(stack)} name={'n' * 300}")
    stack.fake.wait_for("response_url", timeout=5)
    (text,) = stack.ephemeral_texts(REQUESTER)
    assert "`name=` is 300 characters long; a display name has at most 100" in text
    assert stack.slack.view(REQUESTER) is None and stack.fake.calls("views.open") == []


def test_auto_stop_over_a_week_is_refused_by_the_form(stack: Stack) -> None:
    stack.slack.command(REQUESTER, launch_text(stack))
    stack.slack.wait_for_view(REQUESTER)
    stack.slack.set(REQUESTER, Block.INACTIVE_TIMEOUT, "99999")
    errors = stack.slack.submit(REQUESTER)
    assert errors is not None and "from 0 (never stop) to 10080" in errors[Block.INACTIVE_TIMEOUT]
    stack.settle()
    assert stack.fake.messages(CHANNEL) == []  # nothing was requested
    stack.slack.set(REQUESTER, Block.INACTIVE_TIMEOUT, "10080")
    assert stack.slack.submit(REQUESTER) is None  # what was typed is still there; fixed, it goes through


def test_a_1000_character_reject_reason_gives_a_valid_card_without_buttons(stack: Stack) -> None:
    request_launch(stack, launch_text(stack))
    stack.slack.click(APPROVER, "Reject")
    stack.slack.wait_for_view(APPROVER)
    stack.slack.set(APPROVER, Block.REASON, "<" * 1000)
    assert stack.slack.submit(APPROVER) is None
    stack.settle()
    card = stack.card()
    assert card.edits >= 1
    assert all(b.get("type") != "actions" for b in card.blocks or [])  # Approve and Reject are gone
    (status,) = [b["text"]["text"] for b in card.blocks or [] if b.get("block_id") == Block.DECISION]
    assert status.startswith(":no_entry: Rejected by") and status.endswith("…") and len(status) <= 3000
    (reply,) = stack.thread()
    assert "&lt;" * 100 in reply
    assert [c for c in stack.fake.calls() if not c.ok] == []
