"""`/endpoint spend … by …` in Slack: the breakdown, with its chart and CSV uploaded to the person's DM
through Slack's upload flow and the chart shown in the private answer."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from slack_sdk import WebClient

from tests.support.lifecycle import launch
from tests.support.stack import (
    ADMIN,
    APPROVER,
    APPROVER_2,
    BOT_TOKEN,
    BYSTANDER,
    CHANNEL,
    REQUESTER,
    Stack,
    policy_settings,
)

HOUR = 3600.0


def spend(stack: Stack, user: str, text: str) -> tuple[str, list[dict]]:  # type: ignore[type-arg]
    before = len(stack.fake.ephemerals(user))
    stack.slack.command(user, f"spend {text}")
    stack.slack.wait_for_ephemeral(user, "Spend", after=before)
    message = stack.fake.ephemerals(user)[-1]
    return message.text or "", message.blocks or []


def test_spend_by_person_comes_with_its_chart_and_csv_in_the_dm(stack: Stack) -> None:
    stack.follow_simulated_time()
    hw = stack.backend.hardware
    launch(stack, f"create llama-8b {hw} 1 timeout=0")  # $5.40/h, one replica: exact on both APIs
    stack.advance(28 * HOUR)  # the first one's whole last day is in the window
    launch(stack, f"create llama-8b {hw} 1 timeout=0", user=APPROVER_2, approver=APPROVER)
    stack.advance(2 * HOUR)

    text, blocks = spend(stack, BYSTANDER, "24h by person")
    assert text.startswith("*Spend by person over the last 24 hours*")
    assert "Total: *≈ $140.40* over 1 d 2 h serving, 2 endpoints" in text
    assert f"• <@{REQUESTER}> · 1 endpoint · 1 d · ≈ $129.60" in text
    assert f"• <@{APPROVER_2}> · 1 endpoint · 2 h · ≈ $10.80" in text

    # Slack's upload flow, in order: the DM, an upload URL per file, the bytes, one completion.
    methods = [c.method for c in stack.fake.calls() if c.method.startswith(("files.", "conversations.open", "upload"))]  # fmt: skip
    assert methods == [
        "conversations.open",
        "files.getUploadURLExternal",
        "files.getUploadURLExternal",
        "upload",
        "upload",
        "files.completeUploadExternal",
    ]
    dm = stack.fake.files.dm_of(BYSTANDER)
    chart, table = stack.fake.files.shared_in(dm)
    (completion,) = stack.fake.calls("files.completeUploadExternal")
    assert completion.params["channel_id"] == dm
    assert completion.params["initial_comment"].startswith("*Spend by person over the last 24 hours*")
    (shared,) = stack.fake.messages(dm)
    assert shared.metadata == {"files": [chart.id, table.id]}

    # The answer shows the chart Slack now holds, and says where both files are.
    image = next(b for b in blocks if b["type"] == "image")
    assert image["slack_file"] == {"id": chart.id} and "≈ $140.40" in image["alt_text"]
    assert "in your DM with the bot" in str(blocks[-1])
    info = WebClient(token=BOT_TOKEN, base_url=stack.fake.base_url).files_info(file=chart.id)["file"]
    assert info["filetype"] == "png" and info["ims"] == [dm]
    assert chart.data is not None and Image.open(io.BytesIO(chart.data)).size == (1200, 600)
    assert chart.filename.startswith("spend-by-person-") and table.filename.endswith(".csv")

    assert table.data is not None
    rows = list(csv.DictReader(io.StringIO(table.data.decode())))
    assert sum(Decimal(r["cost_low"]) for r in rows) == Decimal("140.40")
    assert {(r["requested_by"], r["channel"]) for r in rows} == {(REQUESTER, CHANNEL), (APPROVER_2, CHANNEL)}


@pytest.mark.backend("v1", reason="Slack-side behaviour that does not depend on the Together API")
def test_a_refused_upload_still_answers_with_the_figures_and_says_why(stack: Stack) -> None:
    stack.fake.fail("files.getUploadURLExternal", error="missing_scope", status=200)
    text, blocks = spend(stack, REQUESTER, "month by channel")
    assert text.startswith("*Spend by channel in ") and "$0.00" in text
    assert not any(b["type"] == "image" for b in blocks)
    assert "Slack said `missing_scope`" in str(blocks) and "`files:write`" in str(blocks)


@pytest.fixture
def stack_settings(tmp_path: Path) -> dict[str, object]:
    policy = f'approvers = ["{APPROVER}", "{APPROVER_2}"]\n[budgets]\nper_person_monthly = 100\ntotal_monthly = 1000\n'
    return policy_settings(tmp_path, policy)


def home_spend(stack: Stack, user: str) -> str:
    home = stack.slack.open_home(user)
    return next(b["text"]["text"] for b in home["blocks"] if "*Spend this month*" in str(b))


@pytest.mark.backend("v1", reason="Slack-side behaviour that does not depend on the Together API")
def test_app_home_shows_the_month_against_the_budgets_and_admins_see_the_top_spenders(stack: Stack) -> None:
    stack.follow_simulated_time()
    launch(stack, "create llama-8b a100 1 timeout=0")
    requester_home = home_spend(stack, REQUESTER)
    assert requester_home.splitlines()[1] == "Your launches: `░░░░░░░░░░` $0 of $100"
    per_hour = stack.bot.launches.costs.of(stack.bot.store.requests()[0]).hourly_now  # type: ignore[union-attr]
    assert per_hour is not None
    hours = 40 / per_hour[0]  # $40 of the $100: 4 cells of 10
    stack.advance(hours * HOUR)

    lines = home_spend(stack, REQUESTER).splitlines()
    assert lines[1] == "Your launches: `▓▓▓▓░░░░░░` $40 of $100"
    assert lines[2] == "Everyone's: `░░░░░░░░░░` $40 of $1,000"
    assert "Top spenders" not in "\n".join(lines)  # not an admin
    bystander = home_spend(stack, BYSTANDER).splitlines()
    assert bystander[1] == "Your launches: `░░░░░░░░░░` $0 of $100"
    admin = home_spend(stack, ADMIN)
    # The hourly figure is rounded to the cent as shown; the meter counts Together's per-minute price, so
    # the top spender's figure is what the meter says (within a few cents of $40), not exactly $40.00.
    spent = stack.bot.launches.costs.of(stack.bot.store.requests()[0])  # type: ignore[union-attr]
    assert spent is not None and abs(spent.low - 40) < 0.1
    assert f"*Top spenders* (admins see this)\n1. <@{REQUESTER}> · {spent.cost_text()}" in admin
