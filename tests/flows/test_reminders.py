""" "Still running" reminders with Keep running and Stop now, against the simulator's clock.

BOT_REMIND_AFTER_HOURS is 8 by default. llama-8b on h100 with one replica costs $5.40/h on both APIs.
"""

from __future__ import annotations

from bot.audit import audit_rows
from tests.support.lifecycle import answer, launch, modal_text, submit_and_read, thread_of
from tests.support.stack import APPROVER, BYSTANDER, CHANNEL, REQUESTER, Stack

HOUR = 3600.0


def reminders(stack: Stack) -> list[str]:
    return [t for t in thread_of(stack) if "is still running after" in t]


def start_one(stack: Stack) -> dict[str, object]:
    stack.follow_simulated_time()
    return launch(stack, f"create llama-8b {stack.backend.hardware} 1 timeout=0")


def click(stack: Stack, user: str, label: str) -> str:
    before = len(stack.fake.ephemerals(user))
    stack.slack.click(user, label, channel=CHANNEL)
    return stack.slack.wait_for_ephemeral(user, "", after=before)


def test_a_reminder_comes_once_after_the_interval_and_keep_running_snoozes_it(stack: Stack) -> None:
    start_one(stack)
    stack.advance(8 * HOUR - 60)
    assert reminders(stack) == []
    stack.advance(60)
    (reminder,) = reminders(stack)
    assert reminder.startswith(
        f":hourglass: <@{REQUESTER}> *llama-8b-r1* is still running after 8 h, ≈ $43.20 so far, $5.40/h now."
    )
    stack.settle()
    assert len(reminders(stack)) == 1  # once per interval, however often the loop runs

    stack.advance(4 * HOUR)
    told = click(stack, REQUESTER, "Keep running")
    assert told == "Kept running: the next reminder comes in 8 h if it still runs."
    stack.settle()
    assert thread_of(stack)[-1].startswith(f":ok_hand: <@{REQUESTER}> keeps the endpoint running")
    stack.advance(4 * HOUR)  # when the next reminder was due before the snooze
    assert len(reminders(stack)) == 1
    stack.advance(4 * HOUR)
    assert len(reminders(stack)) == 2
    assert reminders(stack)[-1].split(",")[0].endswith("still running after 20 h")
    (row,) = audit_rows(stack.bot.store)
    kept = [e for e in row["events"] if e["action"] == "kept_running"]
    assert [(e["actor"], bool(e["at"])) for e in kept] == [(REQUESTER, True)]
    assert sum(e["action"] == "reminded" for e in row["events"]) == 2


def test_stop_now_opens_the_stop_dialog_with_its_rules(stack: Stack) -> None:
    start_one(stack)
    stack.advance(8 * HOUR)
    assert len(reminders(stack)) == 1

    refusal = click(stack, BYSTANDER, "Stop now")
    assert refusal.startswith(f"Only the person who asked for it (<@{REQUESTER}>)") and "can stop" in refusal
    assert stack.slack.view(BYSTANDER) is None
    assert click(stack, BYSTANDER, "Keep running").startswith("Only the person who asked for it")

    stack.slack.click(REQUESTER, "Stop now", channel=CHANNEL)
    view = stack.slack.wait_for_view(REQUESTER)
    assert view["title"]["text"] == "Stop endpoint" and "*llama-8b-r1*" in modal_text(view)
    assert "Stopping" in submit_and_read(stack, REQUESTER, "Stopping")
    stack.advance(31)
    assert "Ran 8 h in all, ≈ $43.20." in thread_of(stack)[-1]

    stack.advance(20 * HOUR)  # stopped: no more reminders
    assert len(reminders(stack)) == 1
    assert "Nothing was done" in click(stack, REQUESTER, "Keep running")


def test_a_stopped_endpoint_gets_none_and_a_start_starts_the_count_again(stack: Stack) -> None:
    endpoint = start_one(stack)
    stack.advance(6 * HOUR)
    stack.force_state(str(endpoint["id"]), "STOPPED")  # stopped in Together's console
    stack.advance(1)
    stack.advance(10 * HOUR)
    assert reminders(stack) == []
    answer(stack, REQUESTER, "start llama-8b-r1", "Starting")
    stack.start()
    stack.advance(7 * HOUR)
    assert reminders(stack) == []  # 6 h before the stop do not count towards this run
    stack.advance(1 * HOUR)
    (reminder,) = reminders(stack)
    assert "still running after 8 h, ≈ $43.20 so far" in reminder


def test_an_unanswered_reminder_brings_in_the_approver_next_time(stack: Stack) -> None:
    start_one(stack)
    stack.advance(8 * HOUR)
    first = reminders(stack)[-1]
    assert "nobody answered" not in first  # the first reminder asks the requester only
    stack.advance(8 * HOUR)  # nobody clicked anything
    second = reminders(stack)[-1]
    assert second.startswith(f":hourglass: <@{REQUESTER}> *llama-8b-r1* is still running after 16 h")
    assert second.endswith(
        f"\n<@{APPROVER}>: nobody answered the last reminder; you approved this launch, so you are asked too."
    )
    click(stack, REQUESTER, "Keep running")  # answered: the next one is the requester's alone again
    stack.advance(8 * HOUR)
    assert "nobody answered" not in reminders(stack)[-1]
    (row,) = audit_rows(stack.bot.store)
    escalated = [e["detail"].get("escalated_to") for e in row["events"] if e["action"] == "reminded"]
    assert escalated == [[], [APPROVER], []]
