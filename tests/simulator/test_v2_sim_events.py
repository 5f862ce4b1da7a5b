"""The simulator's v2 events feed, inference and the routes Together's `tg` CLI reads; the client's reading
of startup phases and the smoke-test probe against them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.simulator.clock import ManualClock
from bot.simulator.core import TogetherSimulator
from bot.simulator.server import SimulatorServer
from bot.together.inference import InferenceProber
from bot.together.v2.client import TogetherV2Client
from tests.simulator.test_v2_simulator import KEY, llama_profile, make_deployment

PHASES = ["PullingImage", "Starting", "LoadingWeights", "StartupComplete"]


@pytest.fixture
def sim_key() -> str:
    return KEY


@pytest.fixture
def http(sim_server: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim_server.url, headers={"Authorization": f"Bearer {KEY}"}) as raw:
        yield raw


@pytest.fixture
def base(sim: TogetherSimulator) -> str:
    return f"/v2/projects/{sim.project_id}"


def routed(http: httpx.Client, base: str, name: str = "ep", replicas: int = 2) -> tuple[str, dict[str, Any]]:
    endpoint_id, dep = make_deployment(http, base, name, autoscaling={"minReplicas": replicas})
    etag = http.get(f"{base}/endpoints/{endpoint_id}").json()["etag"]
    response = http.patch(
        f"{base}/endpoints/{endpoint_id}",
        params={"updateMask": "trafficSplit"},
        json={"etag": etag, "trafficSplit": [{"deploymentId": dep["id"], "weight": 1}]},
    )
    assert response.status_code == 200, response.text
    return endpoint_id, dep


def events(http: httpx.Client, base: str, endpoint_id: str, **query: str) -> list[dict[str, Any]]:
    response = http.get(f"{base}/endpoints/{endpoint_id}/events", params=query)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_events_feed_plays_each_replicas_startup_phases_newest_first(
    http: httpx.Client, base: str, clock: ManualClock
) -> None:
    endpoint_id, dep = routed(http, base)
    clock.advance(60 + 180 + 1)  # PROVISIONING, then SCALING while the replicas boot
    feed = events(http, base, endpoint_id, limit="500")
    times = [e["createdAt"] for e in feed]
    assert times == sorted(times, reverse=True)  # newest first
    for event in feed:
        assert {"id", "createdAt", "endpointId", "level", "source", "sourceKind", "type"} <= set(event)
        assert event["id"].startswith("evt_") and event["endpointId"] == endpoint_id
    types = {e["type"] for e in feed}
    assert {"endpoint.created", "deployment.created", "deployment.status_updated"} <= types
    pods = [e for e in reversed(feed) if e["type"] == "pod.startup_phase_changed"]
    replicas = {e["replicaId"] for e in pods}
    assert len(replicas) == 2
    for replica in replicas:
        assert [e["reason"] for e in pods if e["replicaId"] == replica] == PHASES
    assert all(e["deploymentId"] == dep["id"] and e["sourceKind"] == "SOURCE_KIND_DEPLOYMENT" for e in pods)
    states = [e["message"] for e in reversed(feed) if e["type"] == "deployment.status_updated"]
    assert [m.split(":")[0].rsplit("_", 1)[-1] for m in states] == ["PROVISIONING", "SCALING", "READY"]


def test_replicas_serve_one_by_one_while_scaling(http: httpx.Client, base: str, clock: ManualClock) -> None:
    endpoint_id, dep = routed(http, base)
    path = f"{base}/endpoints/{endpoint_id}/deployments/{dep['id']}"
    clock.advance(61)
    assert http.get(path).json()["status"]["readyReplicas"] == 0
    clock.advance(0.9 * 180)  # the first replica has loaded its weights and serves
    status = http.get(path).json()["status"]
    assert status["state"] == "DEPLOYMENT_STATE_SCALING" and status["readyReplicas"] == 1
    summary = http.get(f"{base}/endpoints/{endpoint_id}").json()["deployments"][0]
    assert summary["readyReplicas"] == 1 and summary["desiredReplicas"] == 2
    clock.advance(20)
    status = http.get(path).json()["status"]
    assert status["state"] == "DEPLOYMENT_STATE_READY" and status["readyReplicas"] == 2


def test_events_filters_and_pages(http: httpx.Client, base: str, clock: ManualClock) -> None:
    endpoint_id, dep = routed(http, base)
    clock.advance(300)
    pods = events(http, base, endpoint_id, types="pod.startup_phase_changed", deploymentIds=dep["id"])
    assert len(pods) == 8 and {e["type"] for e in pods} == {"pod.startup_phase_changed"}
    assert events(http, base, endpoint_id, deploymentIds="dep_unknown") == []
    warns = events(http, base, endpoint_id, minLevel="warn")
    assert warns == []
    late = pods[0]["createdAt"]
    recent = events(http, base, endpoint_id, since=late)
    assert recent and {e["createdAt"] for e in recent} == {late} and len(recent) < len(pods)
    first = http.get(f"{base}/endpoints/{endpoint_id}/events", params={"limit": "3"}).json()
    assert len(first["data"]) == 3 and first["next_cursor"]
    rest = http.get(
        f"{base}/endpoints/{endpoint_id}/events", params={"limit": "100", "after": first["next_cursor"]}
    ).json()
    assert rest["next_cursor"] is None and {e["id"] for e in rest["data"]}.isdisjoint(
        e["id"] for e in first["data"]
    )
    bad = http.get(f"{base}/endpoints/{endpoint_id}/events", params={"since": "yesterday"})
    assert bad.status_code == 400 and "RFC 3339" in bad.json()["message"]
    assert http.get(f"{base}/endpoints/ep_nope/events").status_code == 404


def test_scaling_is_in_the_feed(http: httpx.Client, base: str, clock: ManualClock) -> None:
    endpoint_id, dep = routed(http, base, replicas=1)
    clock.advance(300)
    path = f"{base}/endpoints/{endpoint_id}/deployments/{dep['id']}"
    etag = http.get(path).json()["etag"]
    response = http.patch(
        path,
        params={"updateMask": "autoscaling"},
        json={"etag": etag, "autoscaling": {"minReplicas": 3, "maxReplicas": 3}},
    )
    assert response.status_code == 200, response.text
    scaled = events(http, base, endpoint_id, types="deployment.scaled")
    assert [(e["oldReplicas"], e["newReplicas"]) for e in scaled] == [(1, 3)]


def test_routes_the_tg_cli_reads(http: httpx.Client, base: str, sim: TogetherSimulator) -> None:
    endpoint = http.post(f"{base}/endpoints", json={"name": "Mixed.Case_ok-1"})
    assert endpoint.status_code == 200, endpoint.text  # Together's CLI names deployments like this
    endpoint_id = endpoint.json()["id"]
    bad = http.post(f"{base}/endpoints", json={"name": "-no"})
    assert bad.status_code == 400 and "letters, digits" in bad.json()["message"]
    for kind in ("abExperiments", "shadowExperiments"):
        answer = http.get(f"{base}/endpoints/{endpoint_id}/{kind}", params={"includeTargets": "true"})
        assert answer.status_code == 200 and answer.json() == {"data": [], "next_cursor": None}
    profile = llama_profile(http)
    model_path = profile["model"].split("/revisions/")[0]
    model = http.get(f"/v2/{model_path}")
    assert model.status_code == 200, model.text
    assert (
        model.json()["name"] == profile["modelName"] and model.json()["id"] == model_path.rsplit("/", 1)[-1]
    )
    assert http.get(f"{base}/models/ml_unknown").status_code == 404


def chat(http: httpx.Client, model: str, **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}
    return http.post("/v1/chat/completions", json=body)


def test_chat_completions_streamed_and_not(
    http: httpx.Client, base: str, clock: ManualClock, sim: TogetherSimulator
) -> None:
    endpoint_id, dep = routed(http, base, replicas=1)
    name = http.get(f"{base}/endpoints/{endpoint_id}").json()["name"]
    assert chat(http, name).status_code == 503  # placing replicas: nothing routable yet
    assert chat(http, name).json()["error"]["code"] == "routing_error"
    clock.advance(300)
    plain = chat(http, name, max_tokens=3)
    assert plain.status_code == 200 and plain.json()["choices"][0]["message"]["content"] == "Hello from the"
    streamed = chat(http, name, stream=True, max_tokens=8)
    assert streamed.headers["content-type"].startswith("text/event-stream")
    lines = [line[6:] for line in streamed.text.splitlines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert (
        "".join(c["choices"][0]["delta"]["content"] for c in chunks) == "Hello from the Together simulator."
    )
    refused = chat(http, name, max_tokens=0)
    assert refused.status_code == 400 and "max_tokens" in refused.json()["error"]["message"]
    no_messages = http.post("/v1/chat/completions", json={"model": name})
    assert no_messages.status_code == 400
    unknown = chat(http, f"{sim.v2.project_slug}/nope")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"


def test_inference_refuses_unrouted_and_stopped_endpoints(
    http: httpx.Client, base: str, clock: ManualClock
) -> None:
    endpoint_id, dep = make_deployment(http, base, "lonely", autoscaling={"minReplicas": 1})
    clock.advance(300)
    name = http.get(f"{base}/endpoints/{endpoint_id}").json()["name"]
    unrouted = chat(http, name)
    assert unrouted.status_code == 503 and unrouted.json()["error"]["code"] == "routing_error"
    endpoint_id, dep = routed(http, base, "stopping", replicas=1)
    clock.advance(300)
    path = f"{base}/endpoints/{endpoint_id}/deployments/{dep['id']}"
    etag = http.get(path).json()["etag"]
    http.patch(
        path,
        params={"updateMask": "autoscaling"},
        json={"etag": etag, "autoscaling": {"minReplicas": 0, "maxReplicas": 0}},
    )
    clock.advance(60)
    name = http.get(f"{base}/endpoints/{endpoint_id}").json()["name"]
    stopped = chat(http, name)
    assert stopped.status_code == 400 and stopped.json()["error"]["code"] == "deployment_stopped"


def test_probe_measures_the_first_token_and_reports_errors(
    sim_server: SimulatorServer, http: httpx.Client, base: str, clock: ManualClock, sim: TogetherSimulator
) -> None:
    endpoint_id, _dep = routed(http, base, replicas=1)
    name = http.get(f"{base}/endpoints/{endpoint_id}").json()["name"]
    prober = InferenceProber(sim_server.url + "/v1", KEY, timeout=5)
    early = prober.probe(name)
    assert not early.ok and early.status == 503 and early.code == "routing_error"
    clock.advance(300)
    sim.configure_inference(first_token_delay=0.3)
    result = prober.probe(name)
    assert result.ok and result.reply == "Hello from the Together simulator."
    assert result.first is not None and result.total is not None and 0.3 <= result.first <= result.total
    sim.configure_inference(first_token_delay=0.0, first_token_error="CUDA error: out of memory")
    failed = prober.probe(name)
    assert not failed.ok and failed.code == "model_error" and failed.message == "CUDA error: out of memory"
    sim.configure_inference(first_token_error=None, first_token_delay=2.0)
    started = time.monotonic()
    slow = InferenceProber(sim_server.url + "/v1", KEY, timeout=0.5).probe(name)
    assert not slow.ok and slow.code == "timeout" and time.monotonic() - started < 2.0
    sim.configure_inference(first_token_delay=0.0)
    wrong_key = InferenceProber(sim_server.url + "/v1", "another-key", timeout=5).probe(name)
    assert not wrong_key.ok and wrong_key.status == 401 and KEY not in (wrong_key.message or "")
    prober.close()


def test_client_reads_startup_phases(
    sim_server: SimulatorServer, http: httpx.Client, base: str, clock: ManualClock, sim: TogetherSimulator
) -> None:
    client = TogetherV2Client(sim_server.url, KEY, sim.project_id, backoff_base=0.01, timeout=5)
    endpoint_id, dep = routed(http, base)
    (info,) = client.list_endpoints()
    assert info.deployment_id == dep["id"]
    assert client.startup_phases(endpoint_id, dep["id"], None) == []
    clock.advance(60 + 100)
    changes = client.startup_phases(endpoint_id, dep["id"], None)
    by_replica: dict[str, list[str]] = {}
    for change in changes:
        by_replica.setdefault(change.replica, []).append(change.phase)
    assert len(by_replica) == 2 and all(p == PHASES[: len(p)] for p in by_replica.values())
    times = [c.at for c in changes]
    assert times == sorted(times)  # oldest first
    calls = [r for r in sim.requests if r.path.endswith("/events")]
    assert calls[-1].query["deploymentIds"] == dep["id"]
    assert calls[-1].query["types"] == "pod.startup_phase_changed"
    client.close()
