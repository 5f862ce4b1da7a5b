"""`/endpoint spend` and `bot spend`: what endpoints cost over a window, by endpoint and by person."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from tests.support.cli import run_bot
from tests.support.lifecycle import LLAMA_8B, answer, launch
from tests.support.stack import APPROVER, APPROVER_2, BYSTANDER, CHANNEL, REQUESTER, Stack

HOUR = 3600.0


def test_spend_is_clipped_to_the_window_and_broken_down(stack: Stack) -> None:
    stack.follow_simulated_time()
    hw = stack.backend.hardware
    launch(stack, f"create llama-8b {hw} 1 timeout=0")  # $5.40/h, one replica: exact on both APIs
    stack.advance(28 * HOUR)
    launch(stack, f"create llama-8b {hw} 1 timeout=0", user=APPROVER_2, approver=APPROVER)
    stack.advance(2 * HOUR)

    text = answer(stack, BYSTANDER, "spend 24h", "Spend")  # anyone may ask
    assert text.startswith("*Spend over the last 24 hours*")
    assert "Total: *≈ $140.40* over 1 d 2 h serving, 2 endpoints" in text
    first, second = text.split("*By endpoint*")[1].split("*By person*")[0].strip().splitlines()
    assert first.startswith("• *llama-8b-r1*") and first.endswith(f"<@{REQUESTER}> · 1 d · ≈ $129.60")
    assert second.startswith("• *llama-8b-r2*") and second.endswith(f"<@{APPROVER_2}> · 2 h · ≈ $10.80")
    people = text.split("*By person* (who asked for the launch)")[1]
    assert f"• <@{REQUESTER}> · 1 endpoint · 1 d · ≈ $129.60" in people
    assert f"• <@{APPROVER_2}> · 1 endpoint · 2 h · ≈ $10.80" in people

    week = answer(stack, REQUESTER, "spend", "Spend")  # 7 days by default: the first one's whole run
    assert week.startswith("*Spend over the last 7 days*") and "llama-8b-r1" in week
    assert "≈ $129.60" not in week


def test_spend_with_nothing_running_and_bad_input(stack: Stack) -> None:
    assert "No endpoint launched through the bot served in that time: $0.00." in answer(
        stack, REQUESTER, "spend 30d", "Spend"
    )
    text = answer(stack, REQUESTER, "spend lots")
    assert text.startswith(
        "`spend lots`: say `spend` (the last 7 days), `spend 24h`, `spend 7d`, `spend 30d`, `spend month` "
        "(this calendar month so far) or `spend last-month`"
    )
    assert answer(stack, REQUESTER, "spend 7d by team").startswith(
        "`spend 7d by team`: say `by person`, `by channel`, `by model`, `by hardware` or `by endpoint`."
    )
    assert "`/endpoint spend [24h|7d|30d|month|last-month] [by person|channel|model|hardware|endpoint]`" in (
        answer(stack, BYSTANDER, "help")
    )


def test_bot_spend_on_the_command_line(stack: Stack) -> None:
    stack.follow_simulated_time()  # the simulator's clock is months behind the real one
    endpoint = launch(stack, f"create llama-8b {stack.backend.hardware} 1 timeout=0")
    stack.advance(2 * HOUR)
    stack.force_state(endpoint["id"], "STOPPED")
    stack.advance(1)  # the tracker sees the stop a second later: 2 h 1 s serving, as far as it knows
    url = stack.bot.settings.database_url
    result = run_bot("spend", "--days", "3650", "--json", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["total"] == {"serving_seconds": 7201, "cost": [10.8, 10.8]}
    (line,) = report["endpoints"]
    assert (line["display_name"], line["requested_by"], line["cost"]) == (
        "llama-8b-r1",
        REQUESTER,
        [10.8, 10.8],
    )
    assert report["people"] == [
        {"user": REQUESTER, "endpoints": 1, "serving_seconds": 7201, "cost": [10.8, 10.8]}
    ]
    table = run_bot("spend", "--days", "3650", env={"DATABASE_URL": url})
    assert "Total: ≈ $10.80 over 2 h serving" in table.stdout and "llama-8b-r1" in table.stdout
    recent = run_bot("spend", env={"DATABASE_URL": url})  # the last 7 real days: it ran months ago
    assert "Total: ≈ $0.00" in recent.stdout
    bad = run_bot("spend", "--days", "lots", env={"DATABASE_URL": url})
    assert bad.returncode == 2 and "give a whole number of days" in bad.stderr


@pytest.mark.backend(
    "v1", reason="the command line over the database; the arithmetic is the meter's, tested on both"
)
def test_bot_spend_breakdowns_csv_and_chart(stack: Stack, tmp_path: Path) -> None:
    stack.follow_simulated_time()
    endpoint = launch(stack, f"create llama-8b {stack.backend.hardware} 1 timeout=0")
    stack.advance(2 * HOUR)
    stack.force_state(endpoint["id"], "STOPPED")
    stack.advance(1)
    ran = stack.bot.launches.now()  # simulated time: months before the real clock's
    month = f"{ran:%Y-%m}"
    env = {"DATABASE_URL": stack.bot.settings.database_url}

    table = run_bot("spend", "--month", month, "--by", "model", env=env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith(f"Spend by model, {ran:%B %Y} (")
    assert lines[1:] == [
        "Total: ≈ $10.80 over 2 h serving",
        f"  {LLAMA_8B}: 1 endpoint(s), 2 h, ≈ $10.80",
    ]

    chart = tmp_path / "spend.png"
    out = run_bot("spend", "--month", month, "--by", "person", "--csv", "--chart", str(chart), env=env)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert {r["requested_by"] for r in rows} == {REQUESTER} and {r["channel"] for r in rows} == {CHANNEL}
    assert sum(Decimal(r["cost_low"]) for r in rows) == Decimal("10.80")
    assert sum(int(r["serving_seconds"]) for r in rows) == 7201
    assert f"Chart written to {chart}" in out.stderr
    assert Image.open(chart).size == (1200, 600)

    as_json = json.loads(run_bot("spend", "--days", "3650", "--by", "hardware", "--json", env=env).stdout)
    assert as_json["total"]["cost"] == [10.8, 10.8] and as_json["groups"][0]["endpoints"] == 1

    bad = run_bot("spend", "--month", "2026-13", env=env)
    assert bad.returncode == 2 and "is not a month: write it as YYYY-MM" in bad.stderr
    later = run_bot("spend", "--month", "2999-01", env=env)
    assert later.returncode == 2 and "has not begun yet" in later.stderr
    both = run_bot("spend", "--days", "3", "--month", month, env=env)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    unwritable = run_bot("spend", "--chart", str(tmp_path / "no" / "such" / "x.png"), env=env)
    assert unwritable.returncode == 1 and "could not write the chart" in unwritable.stderr
