"""The launch flow end to end: signed Slack requests over HTTP -> Bolt -> domain -> Together simulator."""

from __future__ import annotations

import json
import threading

import pytest

from bot.audit import audit_rows
from bot.domain.errors import AlreadyDecided
from bot.slack.ids import Block
from tests.support.launching import A100, LLAMA_8B, approve, launch_text, post_at_once, request_launch, states
from tests.support.stack import APPROVER, APPROVER_2, BYSTANDER, REQUESTER, Stack, provider_for, start_stack


def _selected(view: dict, block_id: str):  # type: ignore[no-untyped-def]
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    element = block["element"]
    if "initial_option" in element:
        return element["initial_option"]["value"]
    return element.get("initial_value")


def test_whole_launch_from_command_to_started(stack: Stack) -> None:
    backend = stack.backend
    stack.slack.command(REQUESTER, launch_text(stack))
    view = stack.slack.wait_for_view(REQUESTER)
    assert view["title"]["text"] == "Launch an endpoint"
    assert _selected(view, Block.MODEL) == LLAMA_8B
    assert "h100" in _selected(view, Block.HARDWARE)
    assert (_selected(view, Block.MIN_REPLICAS), _selected(view, Block.MAX_REPLICAS)) == ("2", "5")
    estimate = next(b for b in view["blocks"] if b.get("block_id") == Block.ESTIMATE)["text"]["text"]
    assert "/h at 2 replicas" in estimate and "/h at 5" in estimate

    assert stack.slack.submit(REQUESTER) is None
    stack.settle()
    card_text = json.dumps(stack.card().blocks)
    assert "Launch request #1" in stack.card().text and f"<@{REQUESTER}>" in card_text
    assert stack.creates() == 0

    approve(stack, note="go ahead")
    assert stack.creates() == 1
    (endpoint_id,) = stack.endpoints()
    thread = stack.thread()
    assert "Note: go ahead. Launching" in thread[0]
    assert f"State: *{backend.start_states[0]}*" in thread[1]
    card_text = json.dumps(stack.card().blocks)
    assert "approve_request" not in card_text and endpoint_id in card_text
    assert backend.start_states[0] in card_text

    stack.start()
    assert states(stack) == list(backend.start_states)
    assert "chat/completions" in [t for t in stack.thread() if "State: *" in t][-1]
    assert backend.started in json.dumps(stack.card().blocks)
    replies = len(stack.thread())
    stack.advance(30)  # nothing changes: no further replies
    assert len(stack.thread()) == replies

    (row,) = audit_rows(stack.bot.store)
    assert row["requested_by"] == REQUESTER and row["approved_by"] == APPROVER and row["rejected_by"] is None
    assert row["state"] == backend.started and row["endpoint_id"] == endpoint_id
    assert (row["model"], row["min_replicas"], row["max_replicas"]) == (LLAMA_8B, 2, 5)
    assert [e["action"] for e in row["events"]][:4] == ["requested", "approved", "launch_started", "launched"]


@pytest.mark.backend("v1", reason="the form's a100 prices and the v1 create body; v2 has no A100")
def test_a100_form_prices_and_create_body(stack: Stack) -> None:
    stack.slack.command(REQUESTER, "create llama-8b a100 2-5")
    view = stack.slack.wait_for_view(REQUESTER)
    assert view["title"]["text"] == "Launch an endpoint"
    assert _selected(view, Block.MODEL) == LLAMA_8B
    assert _selected(view, Block.HARDWARE) == A100
    assert (_selected(view, Block.MIN_REPLICAS), _selected(view, Block.MAX_REPLICAS)) == ("2", "5")
    assert _selected(view, Block.INACTIVE_TIMEOUT) == "60"
    estimate = next(b for b in view["blocks"] if b.get("block_id") == Block.ESTIMATE)["text"]["text"]
    # 1x A100 SXM is 6.67 cents a minute per replica: $4.00/h each as shown, so $8.00 at 2 and $20.00 at 5
    # (not the $20.01 that 5 × 6.67 × 60 rounds to: the figures shown add up).
    assert "$8.00/h at 2 replicas" in estimate and "$20.00/h at 5" in estimate
    assert "1x A100 80GB SXM · $4.00/h per replica" in json.dumps(view, ensure_ascii=False)
    hardware = next(b for b in view["blocks"] if b.get("block_id") == Block.HARDWARE)["element"]["options"]
    assert all("$" in o["text"]["text"] for o in hardware)

    assert stack.slack.submit(REQUESTER) is None
    stack.settle()
    card = stack.card()
    assert "Launch request #1" in card.text
    card_text = json.dumps(card.blocks)
    assert f"<@{REQUESTER}>" in card_text and LLAMA_8B in card_text and "$8.00" in card_text
    assert stack.creates() == 0

    approve(stack, note="go ahead")
    assert stack.creates() == 1
    create = next(r for r in stack.sim.requests if r.method == "POST")
    assert create.json["model"] == LLAMA_8B
    assert create.json["hardware"] == A100
    assert create.json["autoscaling"] == {"min_replicas": 2, "max_replicas": 5}
    assert create.json["inactive_timeout"] == 60
    assert create.json["state"] == "STARTED"
    assert create.json["disable_speculative_decoding"] is False
    assert create.json["display_name"] == "llama-8b-r1"

    thread = stack.thread()
    assert (
        thread[0].startswith(":white_check_mark: Approved by <@UAPPROVER1>")
        and "Note: go ahead. Launching" in thread[0]
    )
    assert "State: *PENDING*" in thread[1]
    card_text = json.dumps(stack.card().blocks)
    assert "approve_request" not in card_text and "endpoint-" in card_text and "PENDING" in card_text

    stack.advance(61)
    stack.advance(181)
    thread = stack.thread()
    states = [t for t in thread if "State: *" in t]
    assert [s.split("*")[1] for s in states] == ["PENDING", "STARTING", "STARTED"]
    started = states[-1]
    name = stack.sim.endpoints[next(iter(stack.sim.endpoints))]["name"]
    assert name in started and "chat/completions" in started
    assert "STARTED" in json.dumps(stack.card().blocks)

    stack.advance(30)  # nothing changes: no further replies
    assert len(stack.thread()) == len(thread)

    (row,) = audit_rows(stack.bot.store)
    assert row["requested_by"] == REQUESTER and row["approved_by"] == APPROVER and row["rejected_by"] is None
    assert row["state"] == "STARTED" and row["endpoint_id"].startswith("endpoint-")
    assert (row["model"], row["hardware"], row["min_replicas"], row["max_replicas"]) == (LLAMA_8B, A100, 2, 5)
    assert row["requested_at"] and row["approved_at"]
    assert [e["action"] for e in row["events"]][:4] == ["requested", "approved", "launch_started", "launched"]


def test_requester_cannot_approve_own_launch(stack: Stack) -> None:
    request_launch(
        stack, launch_text(stack), user=APPROVER
    )  # an approver asking for a launch still needs someone else
    stack.slack.click(APPROVER, "Approve")
    assert stack.slack.view(APPROVER) is None
    (text,) = stack.ephemeral_texts(APPROVER)
    assert "someone else must approve" in text and f"<@{APPROVER_2}>" in text
    assert stack.creates() == 0
    assert "approve_request" in json.dumps(stack.card().blocks)


def test_non_approver_is_told_who_can_approve(stack: Stack) -> None:
    request_launch(stack, launch_text(stack))
    for label in ("Approve", "Reject"):
        stack.slack.click(BYSTANDER, label)
    assert stack.slack.view(BYSTANDER) is None
    texts = stack.ephemeral_texts(BYSTANDER)
    assert len(texts) == 2
    assert all(
        "only approvers can approve or reject a launch" in t
        and f"<@{APPROVER}>" in t
        and f"<@{APPROVER_2}>" in t
        for t in texts
    )
    stack.settle()
    assert stack.creates() == 0


def test_twenty_concurrent_approvals_create_exactly_one_endpoint(stack: Stack) -> None:
    request_launch(stack, launch_text(stack))
    stack.slack.click(APPROVER, "Approve")
    view_1 = stack.slack.wait_for_view(APPROVER)
    stack.slack.click(APPROVER_2, "Approve")
    view_2 = stack.slack.wait_for_view(APPROVER_2)
    requests = [
        stack.slack.requests.view_submission(user, view)
        for _ in range(10)
        for user, view in ((APPROVER, view_1), (APPROVER_2, view_2))
    ]
    stack.bot.start()  # launcher, tracker and publisher run for real, concurrently with the clicks
    try:
        results = post_at_once(stack, requests)
        stack.fake.wait_for(
            "chat.postMessage",
            lambda c: f"State: *{stack.backend.start_states[0]}*" in (c.params.get("text") or ""),
        )
    finally:
        stack.bot.stop()
    stack.settle()
    assert stack.creates() == 1
    accepted = [r for r in results if "errors" not in r]
    assert len(accepted) == 1
    assert all("already approved" in r for r in results if "errors" in r)
    assert sum("Approved by" in t for t in stack.thread()) == 1
    assert states(stack) == [stack.backend.start_states[0]]


def test_parallel_launchers_claim_a_request_once(stack: Stack) -> None:
    request_launch(stack, launch_text(stack))
    stack.slack.click(APPROVER, "Approve")
    stack.slack.wait_for_view(APPROVER)
    stack.slack.submit(APPROVER)
    barrier = threading.Barrier(8)

    def launch() -> None:
        barrier.wait()
        stack.bot.launches.launch_approved()

    threads = [threading.Thread(target=launch) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stack.creates() == 1


def test_reject_records_reason_and_launches_nothing(stack: Stack) -> None:
    request_launch(stack, launch_text(stack))
    stack.slack.click(APPROVER, "Reject")
    stack.slack.wait_for_view(APPROVER)
    errors = stack.slack.submit(APPROVER)  # a reason is required
    assert errors and Block.REASON in errors
    stack.slack.set(APPROVER, Block.REASON, "Use h100s <!channel>")
    assert stack.slack.submit(APPROVER) is None
    stack.settle()
    assert stack.creates() == 0
    (reply,) = stack.thread()
    assert "Rejected by <@UAPPROVER1>" in reply and "&lt;!channel&gt;" in reply and "<!channel>" not in reply
    card_text = json.dumps(stack.card().blocks)
    assert "Rejected by" in card_text and "approve_request" not in card_text
    (row,) = audit_rows(stack.bot.store)
    assert row["rejected_by"] == APPROVER and row["approved_by"] is None and row["status"] == "rejected"
    # A late approval (a stale modal, say) is refused and says who decided.
    with pytest.raises(AlreadyDecided, match="already rejected by <@UAPPROVER1>"):
        stack.bot.launches.approve(row["request_id"], APPROVER_2)
    assert stack.bot.launches.launch_approved() == 0


def test_error_state_mentions_requester(stack: Stack) -> None:
    failed = stack.backend.failed_state
    request_launch(stack, launch_text(stack))
    approve(stack)
    stack.advance(stack.backend.start_steps[0])
    (endpoint_id,) = stack.endpoints()
    stack.force_state(endpoint_id, failed)
    stack.advance(stack.backend.start_steps[1])
    error = [t for t in stack.thread() if f"State: *{failed}*" in t]
    assert len(error) == 1 and f"<@{REQUESTER}>" in error[0]
    assert failed in json.dumps(stack.card().blocks)


def test_restart_while_pending_resumes_and_posts_started_once(
    stack: Stack,
    database_url,
    fake_slack,
    sim,
    sim_server,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    backend = stack.backend
    request_launch(stack, launch_text(stack))
    approve(stack)
    assert states(stack) == [backend.start_states[0]]
    stack.bot.stop()
    stack.server.stop()
    stack.bot.store.engine.dispose()

    provider = provider_for(backend, sim, sim_server, clock)
    second = start_stack(database_url, fake_slack, sim, sim_server, provider, clock, backend)
    try:
        clock.advance(300)
        second.settle()
        second.settle()
        shown = states(second)
        assert shown.count(backend.started) == 1 and shown.count(backend.start_states[0]) == 1
        assert stack.creates() == 1
        assert backend.started in json.dumps(second.card().blocks)
    finally:
        second.bot.stop()
        second.server.stop()
        second.bot.store.engine.dispose()
        provider.close()
