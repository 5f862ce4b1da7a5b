"""Stop, start, scale, rename, auto-stop and delete from Slack, against the Together simulator.

Each test plays people in Slack over signed HTTP and checks what they see, what Together received, the
endpoint's thread and card, and the audit trail.
"""

from __future__ import annotations

import pytest

from bot.audit import audit_rows
from tests.support.lifecycle import (
    answer,
    ask_to_confirm,
    card_of,
    changes,
    deletes,
    launch,
    modal_text,
    patches,
    submit_and_read,
    thread_of,
)
from tests.support.stack import ADMIN, APPROVER, REQUESTER, Stack

# Each test launches llama-8b on h100 (2-5 replicas unless it says otherwise): $5.40/h per replica on both
# APIs (v1 prices it 9 cents a minute, v2 540 cents an hour), "1x H100 80GB SXM" to people.
V2_RENAMES = "v2 endpoint names are immutable (the v2 refusal is in test_lifecycle_permissions.py)"


def test_stop_asks_first_then_stops_and_reports_in_thread(stack: Stack) -> None:
    endpoint = launch(stack)
    view = ask_to_confirm(stack, REQUESTER, "stop llama-8b-r1")
    text = modal_text(view)
    assert view["title"]["text"] == "Stop endpoint" and view["submit"]["text"] == "Stop it"
    assert "*llama-8b-r1*" in text and endpoint["name"] in text
    assert "saves $10.80–$27.00/h (2–5 replicas at $5.40/h each)" in text
    assert changes(stack) == []  # nothing happens before the confirmation

    told = submit_and_read(stack, REQUESTER, "Stopping")
    assert "Together reports *STOPPING*" in told and "|thread>" in told
    assert changes(stack) == [stack.backend.patch("stop", 2, 5)]
    assert thread_of(stack)[-1] == (
        ":double_vertical_bar: <@UREQUESTER> stopped the endpoint. Together reports *STOPPING*; "
        "billing stops once it is STOPPED."
    )
    assert "*STOPPING*" in card_of(stack)

    stack.advance(31)
    assert "State: *STOPPED*" in thread_of(stack)[-1] and "*STOPPED*" in card_of(stack)
    (row,) = audit_rows(stack.bot.store)
    stopped = next(e for e in row["events"] if e["action"] == "stopped")
    assert stopped["actor"] == REQUESTER and stopped["detail"]["state"] == "STOPPING" and stopped["at"]
    assert row["state"] == "STOPPED"


def test_cancelled_stop_changes_nothing(stack: Stack) -> None:
    launch(stack)
    before = patches(stack)  # v2's launch PATCHes the traffic split
    replies = len(thread_of(stack))
    ask_to_confirm(stack, REQUESTER, "stop llama-8b-r1")
    stack.slack.cancel(REQUESTER)
    stack.settle()
    assert patches(stack) == before and len(thread_of(stack)) == replies


def test_stop_of_a_stopped_endpoint_is_refused_before_any_call(stack: Stack) -> None:
    endpoint = launch(stack, f"create llama-8b {stack.backend.hardware} 1")
    stack.force_state(endpoint["id"], "STOPPED")
    stack.advance(1)  # the tracker sees it
    calls = len(stack.sim.requests)
    text = answer(stack, REQUESTER, "stop llama-8b-r1")
    assert text.startswith("`llama-8b-r1` is already stopped. Nothing was done.")
    assert stack.slack.view(REQUESTER) is None
    assert len(stack.sim.requests) == calls  # not even a read


def test_stop_racing_a_stop_made_in_the_console(stack: Stack) -> None:
    """The dialog is open when someone stops the endpoint in Together's console: no second stop."""
    endpoint = launch(stack)
    ask_to_confirm(stack, REQUESTER, "stop llama-8b-r1")
    stack.force_state(endpoint["id"], "STOPPED")
    told = submit_and_read(stack, REQUESTER, "Nothing was done")
    assert "Together reports that `llama-8b-r1` is already stopped" in told
    assert f"{stack.backend.started} → STOPPED" in told
    assert changes(stack) == []
    thread = thread_of(stack)
    assert sum("State: *STOPPED*" in t for t in thread) == 1  # recorded once, as the tracker would
    stack.advance(30)
    assert sum("State: *STOPPED*" in t for t in thread_of(stack)) == 1


def test_start_a_stopped_endpoint_and_follow_it_to_started(stack: Stack) -> None:
    endpoint = launch(stack, f"create llama-8b {stack.backend.hardware} 1 timeout=0")
    stack.force_state(endpoint["id"], "STOPPED")
    stack.advance(1)
    told = answer(stack, REQUESTER, "start llama-8b-r1", "Starting")
    assert f"Together reports *{stack.backend.start_states[0]}*" in told
    assert changes(stack) == [stack.backend.patch("start", 1, 1)]
    stack.settle()
    assert thread_of(stack)[-1].startswith(":arrow_forward: <@UREQUESTER> started the endpoint.")
    stack.start()
    started = stack.backend.started
    state_replies = [t for t in thread_of(stack) if "State: *" in t]
    assert f"State: *{started}*" in state_replies[-1] and f"*{started}*" in card_of(stack)
    assert thread_of(stack)[-1].startswith(":white_check_mark: Smoke test passed")  # checked again once up


def test_start_while_starting_is_refused_before_any_call(stack: Stack) -> None:
    launch(stack, started=False)  # in the first start state
    first, second = stack.backend.start_refusals
    calls = len(stack.sim.requests)
    text = answer(stack, REQUESTER, "start llama-8b-r1")
    assert text.startswith(f"`llama-8b-r1` {first}. Nothing was done.")
    assert len(stack.sim.requests) == calls
    stack.advance(stack.backend.start_steps[0])
    text = answer(stack, REQUESTER, "start llama-8b-r1")
    assert text.startswith(f"`llama-8b-r1` {second}. Nothing was done.")


@pytest.mark.backend("v1", reason="the 403 endpoints_v1_create_access_disabled refusal exists only on v1")
def test_start_refused_by_together_shows_its_words_and_a_hint(stack: Stack) -> None:
    endpoint = launch(stack)
    stack.force_state(endpoint["id"], "STOPPED")
    stack.advance(1)
    stack.sim.v1_create_enabled = False  # production today: v1 endpoints cannot be restarted
    told = answer(stack, REQUESTER, "start llama-8b-r1", "Together")
    assert "HTTP 403, endpoints_v1_create_access_disabled" in told
    assert "> Creating or starting v1 dedicated endpoints is disabled" in told
    assert "cannot be restarted through the v1 API" in told
    stack.settle()
    reply = thread_of(stack)[-1]
    assert reply.startswith(":x: <@UREQUESTER> tried to start the endpoint, but Together said (HTTP 403")
    (row,) = audit_rows(stack.bot.store)
    failed = row["events"][-1]
    assert failed["action"] == "start_failed" and failed["actor"] == REQUESTER
    assert (
        failed["detail"]["status"] == 403
        and failed["detail"]["code"] == "endpoints_v1_create_access_disabled"
    )
    assert row["state"] == "STOPPED"


def test_together_failing_a_stop_is_reported_and_recorded(stack: Stack) -> None:
    launch(stack)
    stack.sim.inject("PATCH", stack.backend.patch_path, 503, times=10)
    ask_to_confirm(stack, REQUESTER, "stop llama-8b-r1")
    told = submit_and_read(stack, REQUESTER, "Together")
    assert "Together did not stop *llama-8b-r1*" not in told  # the label is shown as typed text
    assert "Together did not stop `llama-8b-r1`" in told and "HTTP 503" in told
    assert "Ask again later" in told
    assert "tried to stop the endpoint" in thread_of(stack)[-1]
    assert audit_rows(stack.bot.store)[0]["events"][-1]["action"] == "stop_failed"


def test_scale_shows_the_new_cost_and_updates_the_card(stack: Stack) -> None:
    launch(stack)
    told = answer(stack, REQUESTER, "scale llama-8b-r1 1-3", "now runs")
    assert told.startswith(
        "*llama-8b-r1* now runs 1–3 replicas: $5.40–$16.20/h while running (was $10.80–$27.00/h)."
    )
    assert changes(stack) == [stack.backend.patch("scale", 1, 3)]
    stack.settle()
    # v2 then reports the deployment SCALING (one replica to let go), which the thread records after this.
    scaled_replies = [t for t in thread_of(stack) if t.startswith(":left_right_arrow:")]
    assert scaled_replies == [
        ":left_right_arrow: <@UREQUESTER> scaled the endpoint to 1–3 replicas: $5.40–$16.20/h while running "
        "(was $10.80–$27.00/h)."
    ]
    card = card_of(stack)
    assert "*Replicas*\\n1\\u20133" in card and "$5.40\\u2013$16.20/h" in card
    assert "1–3 replicas" in answer(stack, REQUESTER, "list", "Endpoints")
    (scaled,) = [e for e in audit_rows(stack.bot.store)[0]["events"] if e["action"] == "scaled"]
    assert scaled["actor"] == REQUESTER and scaled["detail"]["dollars_per_hour"] == [5.4, 16.2]
    assert scaled["detail"]["previous"] == {"min_replicas": 2, "max_replicas": 5}
    assert "already runs 1–3 replicas" in answer(stack, REQUESTER, "scale llama-8b-r1 1-3")


@pytest.mark.backend("v1", reason=V2_RENAMES)
def test_rename_then_refer_to_it_by_its_new_name(stack: Stack) -> None:
    endpoint = launch(stack)
    told = answer(stack, REQUESTER, 'rename llama-8b-r1 "support bot"', "now called")
    assert told.startswith("*llama-8b-r1* is now called *support bot*.")
    assert patches(stack) == [{"display_name": "support bot"}]
    assert stack.sim.endpoints[endpoint["id"]]["display_name"] == "support bot"
    stack.settle()
    assert "renamed the endpoint to *support bot* (was *llama-8b-r1*)" in thread_of(stack)[-1]
    assert "*Name*\\nsupport bot" in card_of(stack)
    assert "*support bot*" in answer(stack, REQUESTER, 'status "support bot"', "just now")
    assert "I don't know an endpoint `llama-8b-r1`" in answer(stack, REQUESTER, "status llama-8b-r1")


@pytest.mark.backend("v1", reason=V2_RENAMES)
def test_rename_to_another_endpoints_name_is_refused(stack: Stack) -> None:
    """A name clash is refused by the bot before any call, whichever API would then be asked."""
    launch(stack)
    launch(stack, "create llama-70b 2xh100 1", started=False)
    calls = len(stack.sim.requests)
    text = answer(stack, REQUESTER, "rename llama-70b-r2 llama-8b-r1")
    assert "Another endpoint is already called `llama-8b-r1`" in text
    assert len(stack.sim.requests) == calls


def test_timeout_sets_auto_stop_and_auto_stop_is_reported_when_it_fires(stack: Stack) -> None:
    """Asked for 1 minute, Together applies the least it accepts (v1: 1, v2: 30), and the bot says that."""
    endpoint = launch(stack)
    minutes = stack.backend.min_auto_stop
    told = answer(stack, REQUESTER, "timeout llama-8b-r1 1", "on its own")
    assert told.startswith(f"*llama-8b-r1* now stops on its own after {minutes} idle minutes.")
    assert changes(stack) == [stack.backend.patch("timeout", minutes)]
    assert stack.backend.auto_stop_of(stack.endpoints()[endpoint["id"]]) == minutes
    stack.settle()
    assert f"*Auto-stop*\\nafter {minutes} idle minutes" in card_of(stack)
    timeout = next(e for e in audit_rows(stack.bot.store)[0]["events"] if e["action"] == "timeout_changed")
    assert timeout["detail"]["inactive_timeout"] == minutes
    stack.advance(minutes * 60 + 1)  # nobody called it for that long: Together stops it
    stack.advance(31)
    thread = thread_of(stack)
    assert "State: *STOPPING*" in thread[-2] and "State: *STOPPED*" in thread[-1]
    assert "never" in answer(stack, REQUESTER, "timeout llama-8b-r1 0", "on its own")


def test_delete_asks_first_says_it_cannot_be_undone_and_deletes(stack: Stack) -> None:
    endpoint = launch(stack)
    view = ask_to_confirm(stack, APPROVER, "delete llama-8b-r1")
    text = modal_text(view)
    assert view["title"]["text"] == "Delete endpoint" and view["submit"]["text"] == "Delete for good"
    assert "*This cannot be undone.*" in text and "saves $10.80–$27.00/h" in text
    assert deletes(stack) == 0

    if stack.backend.name == "v1":  # v1 deletes a running endpoint in one call
        told = submit_and_read(stack, APPROVER, "Deleted")
        assert "no longer exists at Together" in told
        last = ":wastebasket: <@UAPPROVER1> deleted the endpoint."
    else:  # v2 deletes only stopped deployments: the bot stops it, and deletes it once STOPPED
        told = submit_and_read(stack, APPROVER, "Deleting")
        assert "Together has to stop it first and reports *STOPPING*" in told and deletes(stack) == 0
        assert "asked to delete the endpoint" in thread_of(stack)[-1]
        stack.advance(40)
        last = ":wastebasket: The endpoint is stopped, so the bot deleted it as <@UAPPROVER1> asked."
    assert deletes(stack) >= 1 and endpoint["id"] not in stack.endpoints()
    assert thread_of(stack)[-1].startswith(last)
    assert "*DELETED*" in card_of(stack)
    assert "(0)" in answer(stack, REQUESTER, "list", "Endpoints")
    assert "was deleted on" in answer(stack, REQUESTER, "stop llama-8b-r1")
    replies = len(thread_of(stack))
    stack.advance(60)  # the tracker no longer follows it
    assert len(thread_of(stack)) == replies
    deleted = audit_rows(stack.bot.store)[0]["events"][-1]
    assert (
        deleted["action"] == "deleted"
        and deleted["actor"] == APPROVER
        and deleted["detail"]["state"] == "DELETED"
    )


def test_delete_of_a_stopped_endpoint_says_it_costs_nothing_now_and_is_immediate(stack: Stack) -> None:
    endpoint = launch(stack)
    stack.force_state(endpoint["id"], "STOPPED")
    stack.advance(1)
    text = modal_text(ask_to_confirm(stack, ADMIN, "delete llama-8b-r1"))
    assert "It is STOPPED, so it costs nothing now" in text
    submit_and_read(stack, ADMIN, "Deleted")  # stopped already: no waiting on either API
    assert deletes(stack) >= 1 and stack.endpoints() == {}
    assert thread_of(stack)[-1].startswith(":wastebasket: <@UADMIN> deleted the endpoint.")


def test_delete_of_an_endpoint_already_gone_at_together(stack: Stack) -> None:
    endpoint = launch(stack)
    ask_to_confirm(stack, APPROVER, "delete llama-8b-r1")
    stack.bot.provider.delete_endpoint(endpoint["id"])  # someone deletes it in the console meanwhile
    by_console = deletes(stack)
    told = submit_and_read(stack, APPROVER, "Together no longer knows")
    assert "deleted outside the bot" in told
    assert "no longer exists at Together" in thread_of(stack)[-1]
    assert deletes(stack) == by_console  # the bot sent none


@pytest.mark.backend(
    "v1", reason="a display name comes from a rename; v2 has none, and its endpoint names are [a-z0-9-]"
)
def test_display_names_cannot_ping_anyone(stack: Stack) -> None:
    launch(stack)
    answer(stack, REQUESTER, "rename llama-8b-r1 <!channel> `x`", "now called")
    stack.settle()
    reply = thread_of(stack)[-1]
    assert "<!channel>" not in reply and "&lt;!channel&gt;" in reply
    listed = answer(stack, REQUESTER, "list", "Endpoints")
    assert "<!channel>" not in listed and "&lt;!channel&gt;" in listed
    refused = answer(stack, REQUESTER, "delete <!ch")
    assert "<!channel>" not in refused and "&lt;!channel&gt;" in refused
