"""The same Slack experience on Together's v2 API: launch, follow, stop, start, scale, delete, refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from bot.audit import audit_rows
from bot.runtime import build_bot
from bot.slack.app import make_web_client
from bot.together.v2.client import TogetherV2Client
from tests.support.backends import V2
from tests.support.launching import approve, request_launch
from tests.support.lifecycle import answer, ask_to_confirm, submit_and_read
from tests.support.stack import APPROVER, BOT_TOKEN, REQUESTER, TOGETHER_KEY, Stack, provider_for, start_stack

LLAMA_8B = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"


@pytest.fixture
def v2(database_url, fake_slack, sim, sim_server, clock) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    # Waiting inside the client (a delete waits for STOPPED) moves the simulated clock instead of real time.
    client = TogetherV2Client(
        sim_server.url,
        TOGETHER_KEY,
        sim.project_id,
        backoff_base=0.01,
        backoff_cap=0.05,
        timeout=5,
        sleep=clock.advance,
        stop_poll=5,
    )
    stack = start_stack(
        database_url,
        fake_slack,
        sim,
        sim_server,
        client,
        clock,  # type: ignore[arg-type]
        together_api="v2",
        together_project_id=sim.project_id,
    )
    yield stack
    stack.bot.stop()
    stack.server.stop()
    stack.slack.close()
    stack.bot.store.engine.dispose()


def serving(stack: Stack, text: str) -> str:
    """Ask, approve and let Together bring the endpoint to READY; returns its id."""
    request_launch(stack, text)
    approve(stack)
    stack.advance(300)
    (endpoint_id,) = stack.sim.v2_endpoints
    return endpoint_id


def states(stack: Stack) -> list[str]:
    return [t.split("*")[1] for t in stack.thread() if "State: *" in t]


def v2_calls(stack: Stack) -> list[tuple[str, str]]:
    return [
        (r.method, r.path.split("/")[-1] if r.path.count("/") > 5 else r.path)
        for r in stack.sim.requests
        if r.method != "GET"
    ]


def test_launch_on_v2_follows_deployment_states_with_replica_counts(v2: Stack) -> None:
    request_launch(v2, "create llama-8b h100 2-3")
    approve(v2)
    assert len(v2.sim.v2_endpoints) == 1 and not v2.sim.endpoints  # nothing went to v1
    posts = [r.path for r in v2.sim.requests if r.method == "POST"]
    assert [p.rsplit("/", 1)[-1] for p in posts] == ["endpoints", "deployments"]
    assert any(
        r.method == "PATCH" and "trafficSplit" in (r.query.get("updateMask") or "") for r in v2.sim.requests
    )

    v2.advance(61)
    v2.advance(181)
    v2.settle()
    assert states(v2) == ["PROVISIONING", "SCALING", "READY"]
    ready = [t for t in v2.thread() if "State: *READY*" in t][0]
    assert "(2/2 replicas ready)" in ready and "chat/completions" in ready
    (row,) = audit_rows(v2.bot.store)
    assert row["state"] == "READY" and row["endpoint_id"].startswith("ep_") and row["approved_by"] == APPROVER


def test_a100_is_not_offered_on_v2_and_the_answer_lists_what_is(v2: Stack) -> None:
    v2.slack.command(REQUESTER, "create llama-8b a100 1")
    v2.fake.wait_for("response_url")
    (text,) = v2.ephemeral_texts(REQUESTER)
    assert "can't run" in text and "h100" in text.lower() and "a100_80gb_sxm`" not in text.split("fits")[1]


def test_lifecycle_on_v2_stop_start_scale_delete(v2: Stack) -> None:
    ref = serving(v2, "create llama-8b h100 2-3")

    ask_to_confirm(v2, APPROVER, f"stop {ref}")
    submit_and_read(v2, APPROVER, "Stopping")
    v2.advance(40)
    v2.settle()
    assert states(v2)[-1] == "STOPPED"

    answer(v2, APPROVER, f"start {ref}", "Starting")
    v2.advance(300)
    v2.settle()
    assert states(v2)[-1] == "READY"
    assert "(2/2 replicas ready)" in [t for t in v2.thread() if "State: *READY*" in t][-1]  # bounds restored

    answer(v2, APPROVER, f"scale {ref} 1-3", "1–3")
    v2.advance(300)
    v2.settle()
    deployment = next(iter(v2.sim.v2_endpoints.values()))
    assert json.dumps(deployment).count('"minReplicas": 1') >= 1

    ask_to_confirm(v2, APPROVER, f"delete {ref}")
    submit_and_read(v2, APPROVER, "Deleting")
    v2.advance(40)  # Together stops it; the tracker sees STOPPED and deletes it
    assert v2.sim.v2_endpoints == {}
    actions = [e["action"] for e in audit_rows(v2.bot.store)[0]["events"]]
    for action in ("stopped", "started", "scaled", "deleted"):
        assert action in actions


@pytest.mark.backend(
    "v1", reason="v1 refuses creates with 403 endpoints_v1_create_access_disabled; v2 has no such switch"
)
def test_v1_creation_disabled_says_to_switch_to_v2(stack: Stack) -> None:
    stack.sim.v1_create_enabled = False
    stack.bot.launches.sleep = lambda _s: None
    request_launch(stack)
    approve(stack)
    (reply,) = [t for t in stack.thread() if "the launch failed" in t]
    assert "endpoints_v1_create_access_disabled" in reply
    assert "`TOGETHER_API=v2`" in reply and "`TOGETHER_PROJECT_ID`" in reply


def test_a_lost_create_answer_on_v2_is_adopted_not_repeated(v2: Stack) -> None:
    v2.sim.inject("POST", r"/v2/projects/[^/]+/endpoints/[^/]+/deployments", 500, after_commit=True)
    request_launch(v2, "create llama-8b h100 1")
    approve(v2)
    assert len(v2.sim.v2_endpoints) == 1
    (row,) = audit_rows(v2.bot.store)
    assert row["status"] == "launched" and row["endpoint_id"] == next(iter(v2.sim.v2_endpoints))
    v2.advance(300)
    assert states(v2)[-1] == "READY"


def test_v2_delete_of_a_running_endpoint_stops_it_first_and_nobody_waits(v2: Stack) -> None:
    ref = serving(v2, "create llama-8b h100 2-3")
    refused = answer(v2, REQUESTER, f"delete {ref}")  # a requester may not delete: approvers and admins may
    assert refused.startswith("Only approvers (") and len(v2.sim.v2_endpoints) == 1

    ask_to_confirm(v2, APPROVER, f"delete {ref}")
    told = submit_and_read(v2, APPROVER, "Deleting")
    assert "Together has to stop it first and reports *STOPPING*" in told and "|thread>" in told
    assert not any(r.method == "DELETE" for r in v2.sim.requests)  # the answer came without waiting
    assert v2.thread()[-1].startswith(f":wastebasket: <@{APPROVER}> asked to delete the endpoint.")
    assert "Being deleted, as <@UAPPROVER1> asked" in json.dumps(v2.card().blocks)
    assert "being deleted (<@UAPPROVER1> asked)" in answer(v2, REQUESTER, "list", "Endpoints")
    refused = answer(v2, APPROVER, f"start {ref}")
    assert "is being deleted (<@UAPPROVER1> asked)" in refused and "Nothing was done" in refused
    again = answer(v2, APPROVER, f"delete {ref}")
    assert "is being deleted" in again and v2.slack.view(APPROVER) is None

    v2.advance(10)  # still stopping: the tracker asks Together nothing about deleting
    assert len(v2.sim.v2_endpoints) == 1 and not any(r.method == "DELETE" for r in v2.sim.requests)
    v2.advance(30)
    assert v2.sim.v2_endpoints == {}
    thread = v2.thread()
    assert sum("State: *STOPPED*" in t for t in thread) == 1
    assert thread[-1].startswith(
        f":wastebasket: The endpoint is stopped, so the bot deleted it as <@{APPROVER}> asked."
    )
    card = json.dumps(v2.card().blocks)
    assert "*DELETED*" in card and "Being deleted" not in card
    (row,) = audit_rows(v2.bot.store)
    acts = [(e["action"], e["actor"]) for e in row["events"] if e["actor"] != "together"]
    assert acts[-2:] == [("delete_requested", APPROVER), ("deleted", APPROVER)]
    assert row["events"][-1]["detail"]["after_stop"] is True
    v2.advance(60)
    assert v2.thread() == thread  # said once; no longer followed


def test_v2_delete_is_finished_by_another_process(v2: Stack, sim_server, clock) -> None:  # type: ignore[no-untyped-def]
    """The process that was asked dies before Together has stopped the endpoint: the next one deletes it."""
    ref = serving(v2, "create llama-8b h100 1")
    ask_to_confirm(v2, APPROVER, f"delete {ref}")
    submit_and_read(v2, APPROVER, "Deleting")
    v2.bot.stop()  # this process is gone; another (a `bot tracker` worker) carries on
    other = provider_for(V2, v2.sim, sim_server, clock)
    worker = build_bot(
        v2.bot.settings,
        provider=other,
        client=make_web_client(BOT_TOKEN, v2.fake.base_url),
        serves_slack=False,
    )
    try:
        clock.advance(40)
        worker.settle()
        worker.settle()
        assert v2.sim.v2_endpoints == {}
        assert v2.thread()[-1].startswith(":wastebasket: The endpoint is stopped, so the bot deleted it")
        assert sum("bot deleted it" in t for t in v2.thread()) == 1
    finally:
        worker.stop()
        worker.store.engine.dispose()
        other.close()


def test_v2_delete_refused_once_stopped_is_reported_and_can_be_asked_again(v2: Stack) -> None:
    ref = serving(v2, "create llama-8b h100 1")
    ask_to_confirm(v2, APPROVER, f"delete {ref}")
    submit_and_read(v2, APPROVER, "Deleting")
    # Together refuses the deletion once the endpoint is stopped (e.g. the key lost the permission)
    v2.sim.inject("DELETE", r"/v2/projects/.*", 403, times=1)
    v2.advance(40)
    assert len(v2.sim.v2_endpoints) == 1
    reply = v2.thread()[-1]
    assert reply.startswith(f":x: <@{APPROVER}> tried to delete the endpoint, but Together said (HTTP 403")
    assert "Being deleted" not in json.dumps(v2.card().blocks)
    # asked again, it is stopped now: deleted at once
    ask_to_confirm(v2, APPROVER, f"delete {ref}")
    assert "Deleted" in submit_and_read(v2, APPROVER, "Deleted")
    assert v2.sim.v2_endpoints == {}


def test_start_after_a_stop_made_in_the_console_uses_the_recorded_replica_range(
    v2: Stack, sim_server
) -> None:  # type: ignore[no-untyped-def]
    """Stopped outside the bot (0/0), the deployment forgets its range; the bot starts it with 2-3 again."""
    ref = serving(v2, "create llama-8b h100 2-3")
    (deployment,) = v2.sim.v2_endpoints[ref]["_deployments"]
    path = f"/v2/projects/{v2.sim.project_id}/endpoints/{ref}/deployments/{deployment['id']}"
    console = httpx.patch(
        sim_server.url + path,
        params={"updateMask": "autoscaling.minReplicas,autoscaling.maxReplicas"},
        json={"autoscaling": {"minReplicas": 0, "maxReplicas": 0}},
        headers={"Authorization": f"Bearer {TOGETHER_KEY}"},
    )
    assert console.status_code == 200, console.text
    v2.advance(40)
    assert states(v2)[-1] == "STOPPED"
    told = answer(v2, REQUESTER, f"start {ref}", "Starting")
    assert "Together reports" in told
    autoscaling = [
        r.json["autoscaling"] for r in v2.sim.requests if r.method == "PATCH" and r.json.get("autoscaling")
    ]
    assert autoscaling[-1] == {"minReplicas": 2, "maxReplicas": 3}
    v2.advance(300)
    assert states(v2)[-1] == "READY"


def test_scaling_down_says_how_many_run_and_how_many_are_wanted(v2: Stack) -> None:
    ref = serving(v2, "create llama-8b h100 2-3")
    answer(v2, REQUESTER, f"scale {ref} 1", "now runs")
    v2.advance(1)
    going_down = [t for t in v2.thread() if "State: *SCALING*" in t][-1]
    assert "(2 replicas running, going down to 1)" in going_down, going_down
    v2.advance(300)
    assert "(1/1 replicas ready)" in [t for t in v2.thread() if "State: *READY*" in t][-1]


def test_an_auto_stop_below_v2s_minimum_is_shown_as_together_applied_it(v2: Stack) -> None:
    serving(v2, "create llama-8b h100 1 timeout=5")
    assert "*Auto-stop*\\nafter 30 idle minutes" in json.dumps(v2.card().blocks)
    assert audit_rows(v2.bot.store)[0]["state"] == "READY"


def test_no_capacity_on_v2_is_explained_in_the_thread(v2: Stack) -> None:
    """v2 accepts a launch it cannot place yet and reports it DEGRADED; the thread says why and what to do."""
    v2.sim.set_headroom("1xnvidia-h100-80gb", 0)
    request_launch(v2, "create llama-8b h100 1-2")
    approve(v2)
    v2.advance(61)
    degraded = [t for t in v2.thread() if "State: *DEGRADED*" in t]
    assert len(degraded) == 1, v2.thread()
    assert "(0/1 replicas ready): Cannot place replicas: insufficient GPU capacity" in degraded[0]
    assert f"<@{REQUESTER}> no replica serves yet" in degraded[0] and "other hardware" in degraded[0]
    v2.advance(61)
    assert len([t for t in v2.thread() if "State: *DEGRADED*" in t]) == 1  # said once
