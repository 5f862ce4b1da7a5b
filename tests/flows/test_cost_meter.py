"""The running-cost meter as people see it: the stop reply, the card, `status` and `list`, after simulated hours.

llama-8b on h100 costs $5.40/h per replica on both APIs. v2 reports how many replicas are ready, so its
figure is exact; v1 does not, so the bot shows the range from the fewest to the most replicas allowed.
"""

from __future__ import annotations

import pytest

from tests.support.lifecycle import answer, ask_to_confirm, launch, submit_and_read, thread_of
from tests.support.stack import ADMIN, CHANNEL, REQUESTER, Stack

HOUR = 3600.0


def card_fields(stack: Stack) -> list[str]:
    card = next(m for m in stack.fake.messages(CHANNEL) if "Launch request #1" in (m.text or ""))
    return [f["text"] for b in card.blocks for f in b.get("fields", [])]


def figures(stack: Stack, exact: str, low_high: str) -> str:
    return exact if stack.backend.name == "v2" else low_high


def test_stop_reply_and_card_say_what_the_endpoint_cost(stack: Stack) -> None:
    stack.follow_simulated_time()
    launch(stack, f"create llama-8b {stack.backend.hardware} 2-5 timeout=0")
    stack.advance(HOUR)
    status = answer(stack, REQUESTER, "status llama-8b-r1", "Cost so far")
    # v2: 2 replicas ready for an hour; v1: between 2 and 5 replicas
    assert figures(stack, "Cost so far: ≈ $10.80 over 1 h serving · $10.80/h now", "") in status
    assert figures(stack, "", "Cost so far: $10.80–$27.00 over 1 h serving") in status
    assert figures(stack, "", "· $10.80–$27.00/h now") in status

    stack.advance(2 * HOUR + 12 * 60)
    ask_to_confirm(stack, REQUESTER, "stop llama-8b-r1")
    submit_and_read(stack, REQUESTER, "Stopping")
    stack.advance(31)  # until Together reports STOPPED
    cost = figures(stack, "≈ $34.56", "$34.56–$86.40")  # 192 replica-minutes × 9 cents × 2 (…5)
    stopped = thread_of(stack)[-1]
    assert "State: *STOPPED*" in stopped
    assert f"Ran 3 h 12 min in all, {cost}. The endpoint is not serving and not billed." in stopped
    (field,) = [f for f in card_fields(stack) if f.startswith("*Cost so far*")]
    assert field.startswith(f"*Cost so far*\n{cost} over 3 h 12 min serving")
    assert "/h now" not in field

    stack.advance(5 * HOUR)  # stopped: nothing more accrues
    listed = answer(stack, REQUESTER, "list", "Endpoints")
    assert f"cost so far: {cost} over 3 h 12 min serving" in listed
    assert "/h now" not in listed


def test_a_start_after_a_stop_adds_to_the_meter_and_delete_reports_the_total(stack: Stack) -> None:
    stack.follow_simulated_time()
    endpoint = launch(stack, f"create llama-8b {stack.backend.hardware} 1 timeout=0")
    stack.advance(HOUR)
    stack.force_state(endpoint["id"], "STOPPED")  # stopped in Together's console
    stack.advance(1)
    stack.advance(10 * HOUR)
    answer(stack, REQUESTER, "start llama-8b-r1", "Starting")
    stack.start()
    stack.advance(HOUR)
    stack.force_state(endpoint["id"], "STOPPED")
    stack.advance(1)
    assert "Ran 2 h in all, ≈ $10.80." in thread_of(stack)[-1]  # one replica: exact on both APIs
    ask_to_confirm(stack, ADMIN, "delete llama-8b-r1")
    submit_and_read(stack, ADMIN, "Deleted")
    assert thread_of(stack)[-1].endswith("no longer follows it. Ran 2 h in all, ≈ $10.80.")


@pytest.mark.backend("v2", reason="v1 does not report ready replicas: its range already spans min to max")
def test_replicas_added_by_the_v2_autoscaler_are_counted(stack: Stack) -> None:
    """v2 reports how many replicas are ready; when load brings more up without a change of state, the
    meter counts them from when the bot saw them, without a thread reply."""
    stack.follow_simulated_time()
    endpoint = launch(stack, "create llama-8b h100 2-5 timeout=0")
    replies = len(thread_of(stack))
    stack.advance(HOUR)  # 2 replicas for an hour: $10.80
    (deployment,) = endpoint["_deployments"]
    stack.sim.autoscale(deployment["id"], 4)
    stack.settle()  # the tracker's next look sees 4 ready
    stack.advance(HOUR)  # 4 replicas for the next hour: $21.60
    assert len(thread_of(stack)) == replies  # no state changed: nothing said
    status = answer(stack, REQUESTER, "status llama-8b-r1", "Cost so far")
    assert "Cost so far: ≈ $32.40 over 2 h serving · $21.60/h now" in status, status
