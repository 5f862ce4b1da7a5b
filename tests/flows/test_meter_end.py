"""The meter ends where the endpoint ends: an endpoint the bot no longer follows (deleted outside the bot,
gone while the bot was down, retired with its `bot shell` session) stops counting when it was last seen
serving, and the time from then until it was found gone shows as a range from nothing, never as certain.

One replica of llama-8b on h100 costs $5.40/h on both APIs (exact on both: one replica is one replica).
The bot's clock follows the simulator's, so the figures are exact.
"""

from __future__ import annotations

from datetime import timedelta

from bot.audit import audit_rows
from bot.domain.cost.spend import spend_report
from tests.support.cli import run_bot
from tests.support.lifecycle import answer, launch, thread_of
from tests.support.stack import CHANNEL, REQUESTER, Stack

HOUR = 3600.0


def serving_one_replica_for_an_hour(stack: Stack) -> str:
    stack.follow_simulated_time()
    endpoint = launch(stack, f"create llama-8b {stack.backend.hardware} 1 timeout=0")
    stack.advance(HOUR)  # the tracker sees it serving at every tick
    return str(endpoint["id"])


def spend_json(stack: Stack) -> dict[str, object]:
    report = spend_report(stack.bot.launches.costs, stack.bot.store.requests(), timedelta(days=30), str)
    line = report.lines[0]
    return {"low": round(line.meter.low, 2), "high": round(line.meter.high, 2), "unseen": line.meter.unseen}


def test_an_endpoint_deleted_outside_the_bot_stops_counting_when_last_seen(stack: Stack) -> None:
    endpoint_id = serving_one_replica_for_an_hour(stack)
    stack.sim.delete_outside(endpoint_id)
    stack.advance(10 * 60)  # the next look finds it gone: 10 min after it was last seen serving
    gone = thread_of(stack)[-1]
    assert "no longer exists at Together" in gone and "Ran 1 h in all, ≈ $5.40." in gone
    assert "last seen serving 10 min before it was found gone" in gone

    stack.advance(5 * HOUR)  # gone: nothing more accrues
    card = next(m for m in stack.fake.messages(CHANNEL) if "Launch request #1" in (m.text or ""))
    (field,) = [f["text"] for b in card.blocks for f in b.get("fields", []) if "Cost so far" in f["text"]]
    assert "$5.40–$6.30 over 1 h serving, and 10 min between last seen serving and found gone" in field
    figures = spend_json(stack)
    assert (figures["low"], figures["high"]) == (5.40, 6.30)  # + up to 10 min of one replica
    spend = answer(stack, REQUESTER, "spend 30d", "Spend")
    assert "$5.40–$6.30" in spend
    (row,) = audit_rows(stack.bot.store)
    assert row["state"] == "GONE"


def test_an_endpoint_that_vanished_while_the_bot_was_down_shows_the_gap_as_a_range(stack: Stack) -> None:
    endpoint_id = serving_one_replica_for_an_hour(stack)
    stack.sim.delete_outside(endpoint_id)
    stack.clock.advance(2 * HOUR)  # the bot is down: nobody looks
    stack.settle()  # back up: the first look finds it gone
    assert "last seen serving 2 h before it was found gone" in thread_of(stack)[-1]
    stack.advance(HOUR)
    figures = spend_json(stack)
    assert (figures["low"], figures["high"]) == (5.40, 16.20)  # certain: 1 h; unknown: up to 2 h more
    assert "$5.40–$16.20" in answer(stack, REQUESTER, "spend 30d", "Spend")
    status = answer(stack, REQUESTER, "history llama-8b-r1", "History")
    assert "llama-8b-r1" in status


def test_a_retired_endpoint_stops_counting_and_audit_says_retired(stack: Stack) -> None:
    serving_one_replica_for_an_hour(stack)
    stack.clock.advance(30 * 60)  # the session's last half hour: not looked at
    (request,) = stack.bot.store.requests()
    assert (
        stack.bot.store.retire_team(request.team_id, reason="session ended", now=stack.bot.launches.now())
        == 1
    )
    stack.advance(5 * HOUR)
    figures = spend_json(stack)
    assert (figures["low"], figures["high"]) == (5.40, 8.10)
    before = spend_json(stack)
    stack.advance(HOUR)
    assert spend_json(stack) == before  # not growing
    (row,) = audit_rows(stack.bot.store)
    assert row["state"] == "RETIRED"
    table = run_bot("audit", env={"DATABASE_URL": stack.bot.settings.database_url})
    assert "RETIRED" in table.stdout and "STARTED" not in table.stdout.split("\n", 2)[2]
