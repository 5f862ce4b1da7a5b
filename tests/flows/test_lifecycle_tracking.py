"""Changes made outside the bot (Together's console, auto-stop, a delete elsewhere) still reach the thread."""

from __future__ import annotations

from tests.support.lifecycle import answer, card_of, launch, thread_of
from tests.support.stack import REQUESTER, Stack


def test_console_stop_and_start_produce_thread_replies(stack: Stack) -> None:
    endpoint = launch(stack)
    replies = len(thread_of(stack))
    stack.force_state(endpoint["id"], "STOPPED")  # someone stops it in Together's console
    stack.advance(1)
    thread = thread_of(stack)
    assert len(thread) == replies + 1
    assert thread[-1].startswith(":black_square_for_stop: State: *STOPPED*")  # v2 adds (0/0 replicas ready)
    assert thread[-1].endswith(". The endpoint is not serving and not billed.")
    assert "*STOPPED*" in card_of(stack)
    assert "*STOPPED*" in answer(stack, REQUESTER, "list", "Endpoints")

    stack.force_state(endpoint["id"], stack.backend.start_states[0])  # and starts it again there
    stack.advance(1)
    stack.start()
    thread = thread_of(stack)[replies:]
    states = [t.split("*")[1] for t in thread if "State: *" in t]
    assert states == ["STOPPED", *stack.backend.start_states]
    assert thread[-1].startswith(":white_check_mark: Smoke test passed")  # it came up again: checked again


def test_auto_stop_produces_thread_replies(stack: Stack) -> None:
    # 30 minutes: v2's shortest inactive timeout (it raises shorter ones to 30).
    launch(stack, f"create llama-8b {stack.backend.hardware} 1 timeout=30")
    replies = len(thread_of(stack))
    stack.advance(30 * 60 + 1)
    stack.advance(31)
    assert [t.split("*")[1] for t in thread_of(stack)[replies:]] == ["STOPPING", "STOPPED"]


def test_endpoint_deleted_outside_the_bot(stack: Stack) -> None:
    endpoint = launch(stack)
    stack.bot.provider.delete_endpoint(endpoint["id"])
    stack.advance(1)
    assert "no longer exists at Together" in thread_of(stack)[-1]
    assert "(0)" in answer(stack, REQUESTER, "list", "Endpoints")
    assert "was deleted on" in answer(stack, REQUESTER, "status llama-8b-r1")
