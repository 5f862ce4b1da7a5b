"""The long wait made visible (issue 13): a v2 start's phases on the card, READY announced once, and the
smoke test that proves an endpoint answers once it comes up."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from bot.audit import audit_rows
from bot.sandbox.slack_types import Call
from tests.support.launching import approve, request_launch
from tests.support.lifecycle import answer, launch, thread_of
from tests.support.stack import APPROVER, CHANNEL, TOGETHER_KEY, Stack, provider_for, start_stack

V2_ONLY = pytest.mark.backend("v2", reason="startup phases come from v2's events feed")
PROGRESS = re.compile(r"([▓░]{4}) ([A-Za-z ]+) · (\d+) of (\d+) ready · ([\w ]+)")


def card_section(call: Call) -> str:
    return next(b["text"]["text"] for b in call.params["blocks"] if b.get("block_id") == "decision")


def list_calls(stack: Stack) -> list[int]:
    """Indexes in the simulator's request log of the tracker's list calls."""
    return [
        i for i, r in enumerate(stack.sim.requests) if r.method == "GET" and r.path.endswith("/endpoints")
    ]


@V2_ONLY
def test_a_v2_start_shows_each_phase_on_the_card_in_order(stack: Stack) -> None:
    stack.follow_simulated_time()
    edits: list[tuple[float, str]] = []

    def on_call(call: Call) -> None:
        if call.method == "chat.update":
            edits.append((stack.clock.now(), card_section(call)))

    stack.fake.add_listener(on_call)
    request_launch(stack, "create llama-8b h100 2")
    approve(stack)
    launched = stack.clock.now()
    for _ in range(55):  # 275 s in 5 s ticks: faster than the 10 s card budget
        stack.advance(5)
    stack.fake.remove_listener(on_call)

    progress = [(at, PROGRESS.search(text)) for at, text in edits if PROGRESS.search(text)]
    shown = [(m.group(2), m.group(3), m.group(4)) for _, m in progress if m]
    phases = list(dict.fromkeys(phase for phase, _, _ in shown))
    assert phases == ["Placing replicas", "Pulling image", "Starting engine", "Loading weights", "Serving"]
    assert {(ready, of) for phase, ready, of in shown if phase != "Serving"} == {("0", "2")}
    assert ("Serving", "1", "2") in shown  # the first replica serves, the second still loads
    bars = [m.group(1) for _, m in progress if m]
    assert bars[0] == "░░░░" and "▓▓▓░" in bars and bars[-1] == "▓▓▓▓"
    assert any(m.group(5) == "2 min" for _, m in progress if m)  # the time so far
    # At most one card edit every 10 s once the launch is made, whatever the tick.
    times = [at for at, _ in edits if at > launched]
    assert all(b - a >= 10 for a, b in zip(times, times[1:], strict=False)), times
    assert "*READY*" in edits[-1][1] and not PROGRESS.search(edits[-1][1])  # the card settles on READY
    # One events call per tracker tick at most, and none once the endpoint is steady.
    requests = stack.sim.requests
    ticks = list_calls(stack)
    for start, end in zip(ticks, ticks[1:], strict=False):
        assert sum(1 for r in requests[start:end] if r.path.endswith("/events")) <= 1
    steady = len([r for r in stack.sim.requests if r.path.endswith("/events")])
    stack.advance(60)
    assert len([r for r in stack.sim.requests if r.path.endswith("/events")]) == steady

    thread = thread_of(stack)
    firsts = [t for t in thread if t.startswith(":large_green_circle: The first replica serves")]
    assert len(firsts) == 1 and "(1 of 2 ready after 3 min)" in firsts[0]
    ready = [t for t in thread if "State: *READY*" in t]
    assert len(ready) == 1 and "(2/2 replicas ready)" in ready[0]


@V2_ONLY
def test_ready_is_announced_to_the_channel_once(stack: Stack) -> None:
    launch(stack, "create llama-8b h100 1-4")
    posts = stack.fake.calls("chat.postMessage")
    broadcast = [c for c in posts if c.params.get("reply_broadcast") in (True, "true", "1", 1)]
    assert len(broadcast) == 1 and "State: *READY*" in broadcast[0].params["text"]
    ref = stack.bot.store.tracked_endpoints()[0].id
    answer(stack, APPROVER, f"scale {ref} 2-4", "2–4")  # READY → SCALING → READY: a rescale, not news
    stack.start()
    assert sum("State: *READY*" in t for t in thread_of(stack)) == 2
    posts = stack.fake.calls("chat.postMessage")
    assert len([c for c in posts if c.params.get("reply_broadcast") in (True, "true", "1", 1)]) == 1
    assert sum(t.startswith(":white_check_mark: Smoke test passed") for t in thread_of(stack)) == 1


def completions(stack: Stack) -> list[dict]:
    return [r.json for r in stack.sim.requests if r.method == "POST" and r.path == "/v1/chat/completions"]


def test_smoke_test_replies_with_timings_once_the_endpoint_serves(stack: Stack) -> None:
    stack.sim.configure_inference(first_token_delay=0.2)
    launch(stack, f"create llama-8b {stack.backend.hardware} 1")
    (endpoint,) = stack.bot.store.tracked_endpoints()
    (sent,) = completions(stack)
    assert sent["model"] == endpoint.name and sent["stream"] is True and sent["max_tokens"] == 8
    assert len(sent["messages"]) == 1 and sent["messages"][0]["role"] == "user"
    thread = thread_of(stack)
    ready = next(t for t in thread if "State: *" + stack.backend.start_states[-1] + "*" in t)
    assert "one tiny request now" in ready
    found = re.search(
        r"Smoke test passed: .* First token after (\d+\.\d\d) s, complete after (\d+\.\d\d) s", thread[-1]
    )
    assert found, thread[-1]
    assert 0.2 <= float(found.group(1)) <= float(found.group(2))
    (row,) = audit_rows(stack.bot.store)
    (event,) = [e for e in row["events"] if e["action"] == "smoke_test"]
    assert event["actor"] == "bot" and event["endpoint_id"] == endpoint.id
    assert event["detail"]["ok"] is True and event["detail"]["ttft_ms"] >= 200
    assert event["detail"]["total_ms"] >= event["detail"]["ttft_ms"]
    stack.advance(60)
    assert len(completions(stack)) == 1  # once per start, not per tick


def test_smoke_test_quotes_a_model_that_fails_on_its_first_token(stack: Stack) -> None:
    stack.sim.configure_inference(first_token_error="CUDA error: device-side assert triggered")
    launch(stack, f"create llama-8b {stack.backend.hardware} 1")
    last = thread_of(stack)[-1]
    assert last.startswith(":warning: <@") and "Smoke test failed" in last
    assert "> CUDA error: device-side assert triggered" in last and "model_error" in last
    assert "stop it (it is billed while it runs)" in last
    (row,) = audit_rows(stack.bot.store)
    (event,) = [e for e in row["events"] if e["action"] == "smoke_test"]
    assert event["detail"]["ok"] is False and event["detail"]["code"] == "model_error"


def test_smoke_test_gives_up_on_a_slow_first_token_without_holding_the_tracker(stack: Stack) -> None:
    assert stack.bot.smoke_tests is not None
    stack.bot.smoke_tests.prober.timeout = 0.3  # type: ignore[attr-defined]
    stack.sim.configure_inference(first_token_delay=1.0)
    launch(stack, f"create llama-8b {stack.backend.hardware} 1")
    last = thread_of(stack)[-1]
    assert "Smoke test failed" in last and "timeout" in last and "may still be warming up" in last


@V2_ONLY
def test_smoke_test_says_what_to_do_about_a_routing_error(stack: Stack) -> None:
    request_launch(stack, "create llama-8b h100 1")
    approve(stack)
    (endpoint_id,) = stack.sim.v2_endpoints
    # Someone takes the deployment out of the traffic split in Together's console while it starts.
    status, _, body = stack.sim.handle(
        "PATCH",
        f"/v2/projects/{stack.sim.project_id}/endpoints/{endpoint_id}",
        {"updateMask": "trafficSplit"},
        {"Authorization": f"Bearer {TOGETHER_KEY}"},
        json.dumps({"trafficSplit": []}).encode(),
    )
    assert status == 200, body
    stack.start()
    last = thread_of(stack)[-1]
    assert "Smoke test failed" in last and "HTTP 503, routing_error" in last
    assert "traffic split gives its deployment no weight" in last and "--traffic-weight 1" in last


@pytest.fixture
def quiet(database_url, fake_slack, sim, sim_server, clock, backend) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    """The stack with BOT_SMOKE_TEST=0."""
    provider = provider_for(backend, sim, sim_server, clock)
    s = start_stack(database_url, fake_slack, sim, sim_server, provider, clock, backend, bot_smoke_test=False)
    yield s
    s.bot.stop()
    assert s.server is not None
    s.server.stop()
    s.slack.close()
    s.bot.store.engine.dispose()
    provider.close()


def test_smoke_test_off(quiet: Stack) -> None:
    launch(quiet, f"create llama-8b {quiet.backend.hardware} 1")
    assert completions(quiet) == []
    thread = thread_of(quiet)
    assert not any("Smoke test" in t or "tiny request" in t for t in thread)
    (row,) = audit_rows(quiet.bot.store)
    assert not any(e["action"] == "smoke_test" for e in row["events"])


@pytest.mark.backend("v1", reason="v1 has no events feed: its starts cost no extra call")
def test_v1_start_reads_no_events(stack: Stack) -> None:
    launch(stack, "create llama-8b h100 1")
    assert not any("events" in r.path for r in stack.sim.requests)
    assert not any(PROGRESS.search(m.text or "") for m in stack.fake.messages(CHANNEL))
