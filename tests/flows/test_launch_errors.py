"""Together refusing or failing at launch: a thread reply quoting Together with a hint; retries where safe."""

from __future__ import annotations

import json
import re

import pytest

from bot.audit import audit_rows
from tests.support.launching import approve, launch_text
from tests.support.launching import request_launch as _request_launch
from tests.support.stack import REQUESTER, Stack


def request_launch(stack: Stack) -> None:
    _request_launch(stack, launch_text(stack))


@pytest.fixture(autouse=True)
def _no_waiting(stack: Stack) -> None:
    stack.bot.launches.sleep = lambda _seconds: None


def failed_reply(stack: Stack) -> str:
    replies = [t for t in stack.thread() if "the launch failed" in t]
    assert len(replies) == 1, stack.thread()
    return replies[0]


@pytest.mark.backend("v1", reason="the 403 endpoints_v1_create_access_disabled refusal exists only on v1")
def test_v1_creation_disabled_is_explained(stack: Stack) -> None:
    stack.sim.v1_create_enabled = False
    request_launch(stack)
    approve(stack)
    reply = failed_reply(stack)
    assert f"<@{REQUESTER}>" in reply
    assert "HTTP 403, endpoints_v1_create_access_disabled" in reply
    assert "v2 API" in reply
    card = json.dumps(stack.card().blocks)
    assert "Launch failed" in card
    (row,) = audit_rows(stack.bot.store)
    assert row["status"] == "failed" and row["endpoint_id"] is None and row["approved_by"]
    assert stack.creates() == 1  # refused calls are not repeated


# The writes a launch refused for want of credit makes. v1 refuses the create itself; v2 creates the
# endpoint (which costs nothing), is refused the deployment, and deletes the endpoint again.
CREDIT_REFUSAL_WRITES = {
    "v1": [("POST", "/v1/endpoints")],
    "v2": [
        ("POST", "/v2/projects/P/endpoints"),
        ("POST", "/v2/projects/P/endpoints/EP/deployments"),
        ("DELETE", "/v2/projects/P/endpoints/EP"),
    ],
}


def writes(stack: Stack) -> list[tuple[str, str]]:
    """Every call but reads, with the v2 project and endpoint ids shortened to P and EP."""
    return [
        (r.method, re.sub(r"/ep_\w+", "/EP", r.path.replace(stack.sim.project_id, "P")))
        for r in stack.sim.requests
        if r.method != "GET"
    ]


def test_credit_limit_is_explained(stack: Stack) -> None:
    stack.sim.credit_exhausted = True
    request_launch(stack)
    approve(stack)
    reply = failed_reply(stack)
    assert "HTTP 402" in reply and "> Credit limit exceeded" in reply and "billing" in reply
    assert stack.creates() == 1  # refused for want of credit: not asked again
    assert writes(stack) == CREDIT_REFUSAL_WRITES[stack.backend.name]
    assert stack.endpoints() == {}  # nothing left at Together
    (row,) = audit_rows(stack.bot.store)
    assert row["status"] == "failed" and row["endpoint_id"] is None


@pytest.mark.backend(
    "v1", reason="v1 refuses a create without capacity; v2 accepts it and reports DEGRADED (test_v2_flow.py)"
)
def test_no_capacity_is_explained(stack: Stack) -> None:
    stack.sim.set_availability("1x_nvidia_h100_80gb_sxm", "unavailable")
    request_launch(stack)
    approve(stack)
    reply = failed_reply(stack)
    assert "not available now" in reply and "Try other hardware" in reply


def test_bad_api_key_is_explained_without_showing_it(stack: Stack) -> None:
    request_launch(stack)
    stack.bot.provider._http.headers["Authorization"] = "Bearer wrong-key"  # type: ignore[attr-defined]
    approve(stack)
    reply = failed_reply(stack)
    assert "HTTP 401" in reply and "TOGETHER_API_KEY" in reply and "wrong-key" not in reply


def test_rate_limited_create_is_retried_and_launches_once(stack: Stack) -> None:
    stack.sim.inject("POST", stack.backend.endpoints_path, 429, times=2, retry_after=0)
    request_launch(stack)
    approve(stack)
    assert len(stack.endpoints()) == 1
    assert any(f"State: *{stack.backend.start_states[0]}*" in t for t in stack.thread())
    assert not any("failed" in t for t in stack.thread())


def test_rate_limited_until_giving_up_fails_with_a_hint(stack: Stack) -> None:
    stack.sim.inject("POST", stack.backend.endpoints_path, 429, times=50, retry_after=0)
    request_launch(stack)
    approve(stack)
    reply = failed_reply(stack)
    assert "HTTP 429" in reply and "rate-limiting" in reply
    assert len(stack.endpoints()) == 0


def test_server_error_after_create_adopts_the_endpoint_instead_of_creating_another(stack: Stack) -> None:
    stack.sim.inject("POST", stack.backend.endpoints_path, 500, after_commit=True)
    request_launch(stack)
    approve(stack)
    assert len(stack.endpoints()) == 1
    assert stack.creates() == 1
    (row,) = audit_rows(stack.bot.store)
    assert row["status"] == "launched" and row["endpoint_id"] == next(iter(stack.endpoints()))


def test_server_error_before_create_is_retried_once_nothing_was_made(stack: Stack) -> None:
    stack.sim.inject("POST", stack.backend.endpoints_path, 502)
    request_launch(stack)
    approve(stack)
    assert len(stack.endpoints()) == 1
    assert stack.creates() == 2
    (row,) = audit_rows(stack.bot.store)
    assert row["status"] == "launched"


def test_persistent_server_errors_fail_the_request(stack: Stack) -> None:
    stack.sim.inject("POST", stack.backend.endpoints_path, 503, times=10)
    request_launch(stack)
    approve(stack)
    reply = failed_reply(stack)
    assert "HTTP 503" in reply and "Ask again later" in reply
    assert len(stack.endpoints()) == 0


def test_tracker_survives_together_errors_and_reports_later(stack: Stack) -> None:
    request_launch(stack)
    approve(stack)
    stack.sim.inject("GET", stack.backend.any_path, 500, times=20)
    stack.advance(stack.backend.start_steps[0])  # every read fails: nothing recorded, nothing crashes
    assert not any(stack.backend.start_states[1] in t for t in stack.thread())
    stack.sim.chaos(0.0)
    stack.sim.clear_faults()
    stack.advance(200)
    states = [t.split("*")[1] for t in stack.thread() if "State: *" in t]
    first, middle, started = stack.backend.start_states
    assert states == [first, started]  # the middle state passed while Together was unreachable


def test_secrets_never_reach_slack(stack: Stack) -> None:
    from tests.support.stack import SIGNING_SECRET, TOGETHER_KEY

    stack.sim.credit_exhausted = True
    request_launch(stack)
    approve(stack)
    for call in stack.fake.calls():
        dumped = json.dumps(call.params)
        assert TOGETHER_KEY not in dumped and SIGNING_SECRET not in dumped and "xoxb-" not in dumped
