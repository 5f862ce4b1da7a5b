"""TogetherV2Client against the v2 simulator over real HTTP: hardware, the create sequence, exactly-once
create, lifecycle, states on a manual clock, errors, retries and keeping the key secret."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bot.domain.catalog import BUILTIN_GPUS
from bot.domain.provider import (
    LaunchSpec,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderConflict,
    ProviderError,
    ProviderForbidden,
    ProviderNotFound,
    ProviderPaymentRequired,
    ProviderRateLimited,
    ProviderUnavailable,
)
from bot.simulator.catalog import HARDWARE_BY_ID
from bot.simulator.clock import ManualClock
from bot.simulator.core import RecordedRequest, TogetherSimulator
from bot.simulator.server import SimulatorServer
from bot.together.v2.client import TogetherV2Client
from bot.together.v2.hardware import V1_ID_BASES
from bot.together.v2.mapping import sanitise_name, v2_inactive_timeout

KEY = "tgp_v2_SECRET-key-do-not-leak-42"
LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
H100 = "1x_nvidia_h100_80gb_sxm"
SPEC = LaunchSpec(model=LLAMA, hardware=H100, min_replicas=2, max_replicas=5, display_name="llama-8b-r12")


@pytest.fixture
def sim_key() -> str:
    return KEY


@pytest.fixture
def sleeps(clock: ManualClock) -> list[float]:
    return []


@pytest.fixture
def client(
    sim_server: SimulatorServer, sim: TogetherSimulator, clock: ManualClock, sleeps: list[float]
) -> Iterator[TogetherV2Client]:
    def sleep(seconds: float) -> None:  # waiting lets simulated time pass
        sleeps.append(seconds)
        clock.advance(seconds)

    with TogetherV2Client(sim_server.url + "/v1", KEY, sim.project_id, timeout=2.0, sleep=sleep) as together:
        yield together


def calls(sim: TogetherSimulator, since: int = 0) -> list[tuple[str, str]]:
    """(method, path with the project id shortened to P) of every request after `since`."""
    return [(r.method, r.path.replace(sim.project_id, "P")) for r in sim.requests[since:]]


def last(sim: TogetherSimulator, method: str) -> RecordedRequest:
    return [r for r in sim.requests if r.method == method][-1]


def deployment_of(sim: TogetherSimulator, endpoint_id: str) -> dict[str, Any]:
    (deployment,) = sim.v2_endpoints[endpoint_id]["_deployments"]
    return deployment


# --- URLs and hardware -------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_base_url_with_or_without_v1_reaches_v2_routes(suffix: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": [], "next_cursor": None})

    client = TogetherV2Client(
        "https://api.together.xyz" + suffix, KEY, "proj_1", transport=httpx.MockTransport(handler)
    )
    assert client.root_url == "https://api.together.xyz" and client.api_version == "v2"
    assert client.list_endpoints() == []
    assert str(seen[0].url) == "https://api.together.xyz/v2/projects/proj_1/endpoints?limit=100"
    assert seen[0].headers["Authorization"] == f"Bearer {KEY}"


def test_hardware_for_a_model_is_its_certified_gpus_priced_per_minute(client: TogetherV2Client) -> None:
    options = {o.id: o for o in client.list_hardware(LLAMA)}
    assert set(options) == {f"{n}x_{V1_ID_BASES[f]}" for f in ("h100", "h200", "b200") for n in (1, 2, 4, 8)}
    # The same prices as on v1: priceCentsPerHour / 60.
    assert options[H100].cents_per_minute == HARDWARE_BY_ID[H100].cents_per_minute == 9.0
    assert options["2x_nvidia_h200_140gb_sxm"].cents_per_minute == pytest.approx(26.3)
    assert options[H100].gpu_type == "h100-80gb" and options[H100].availability == "available"
    assert not any("a100" in hw for hw in options)


def test_a_big_model_gets_only_the_gpus_it_fits(client: TogetherV2Client) -> None:
    ids = {o.id for o in client.list_hardware("deepseek-ai/DeepSeek-R1")}
    assert ids == {"8x_nvidia_h200_140gb_sxm", "8x_nvidia_b200_180gb_sxm"}


def test_a_model_outside_the_v2_catalogue_is_not_found(client: TogetherV2Client) -> None:
    with pytest.raises(ProviderNotFound):
        client.list_hardware("someone/unknown-model")
    with pytest.raises(ProviderNotFound):
        client.list_hardware("allenai/OLMo-7B")  # serverless only


def test_hardware_without_a_model_lists_every_instance_type(client: TogetherV2Client) -> None:
    assert len(client.list_hardware()) == 12


def test_no_capacity_shows_as_unavailable(sim: TogetherSimulator, client: TogetherV2Client) -> None:
    sim.set_headroom("1xnvidia-h100-80gb", 0)
    options = {o.id: o for o in client.list_hardware(LLAMA)}
    assert options[H100].availability == "unavailable"


def test_the_v1_ids_match_the_bots_gpu_aliases() -> None:
    for family, base in V1_ID_BASES.items():
        assert BUILTIN_GPUS[family] == base


# --- create ------------------------------------------------------------------------------------


def test_create_follows_the_cookbook(sim: TogetherSimulator, client: TogetherV2Client) -> None:
    info = client.create_endpoint(SPEC)
    assert calls(sim) == [
        ("GET", "/v2/supported-models"),
        ("POST", "/v2/projects/P/endpoints"),
        ("POST", f"/v2/projects/P/endpoints/{info.id}/deployments"),
        ("PATCH", f"/v2/projects/P/endpoints/{info.id}"),
    ]
    assert sim.requests[0].query["product"] == "PRODUCT_DEDICATED"
    assert sim.requests[1].json == {"name": "llama-8b-r12"}
    deployment = sim.requests[2].json
    assert deployment["autoscaling"] == {"minReplicas": 2, "maxReplicas": 5}
    assert deployment["model"].startswith("projects/proj_") and "/models/ml_" in deployment["model"]
    assert "/configs/cr_" in deployment["config"]
    assert deployment["inactiveTimeout"] == 60  # v1's default when the request leaves it out
    route = sim.requests[3]
    assert route.query == {"updateMask": "trafficSplit"}
    dep_id = deployment_of(sim, info.id)["id"]
    assert route.json["trafficSplit"] == [{"deploymentId": dep_id, "weight": 1}]
    assert route.json["etag"]

    assert info.id.startswith("ep_") and info.api == "v2"
    assert (info.name, info.display_name, info.owner) == ("simuser/llama-8b-r12", "llama-8b-r12", "simuser")
    assert (info.model, info.hardware, info.state) == (LLAMA, H100, "PROVISIONING")
    assert (info.min_replicas, info.max_replicas, info.ready_replicas, info.desired_replicas) == (2, 5, 0, 2)


def test_the_catalogue_is_read_once(sim: TogetherSimulator, client: TogetherV2Client) -> None:
    client.list_hardware(LLAMA)
    client.create_endpoint(SPEC)
    client.list_endpoints()
    assert calls(sim).count(("GET", "/v2/supported-models")) == 1


def test_create_stopped_makes_a_0_0_deployment_that_remembers_the_bounds(
    sim: TogetherSimulator, client: TogetherV2Client
) -> None:
    spec = LaunchSpec(
        model=LLAMA, hardware=H100, min_replicas=1, max_replicas=3, display_name="x", start=False
    )
    info = client.create_endpoint(spec)
    assert last(sim, "POST").json["autoscaling"] == {"minReplicas": 0, "maxReplicas": 0}
    assert (info.state, info.min_replicas, info.max_replicas) == ("STOPPED", 1, 3)
    started = client.update_endpoint(info.id, state="STARTED")
    assert (started.state, started.min_replicas, started.max_replicas) == ("PROVISIONING", 1, 3)


def test_a_duplicate_name_is_adopted_and_completed(sim: TogetherSimulator, client: TogetherV2Client) -> None:
    # An earlier attempt created the endpoint, then the process died before the deployment.
    client._send("POST", client._path("endpoints"), json={"name": "llama-8b-r12"})
    start = len(sim.requests)
    info = client.create_endpoint(SPEC)
    assert calls(sim, start) == [
        ("GET", "/v2/supported-models"),
        ("POST", "/v2/projects/P/endpoints"),
        ("GET", "/v2/projects/P/endpoints"),
        ("POST", f"/v2/projects/P/endpoints/{info.id}/deployments"),
        ("PATCH", f"/v2/projects/P/endpoints/{info.id}"),
    ]
    assert sim.requests[start + 2].query["filter"] == 'name="llama-8b-r12"'
    assert len(sim.v2_endpoints) == 1 and info.state == "PROVISIONING"


def test_creating_twice_gives_one_endpoint(sim: TogetherSimulator, client: TogetherV2Client) -> None:
    first = client.create_endpoint(SPEC)
    second = client.create_endpoint(SPEC)
    assert second.id == first.id
    assert len(sim.v2_endpoints) == 1 and len(sim.v2_endpoints[first.id]["_deployments"]) == 1


def test_a_name_taken_by_another_model_is_a_conflict(client: TogetherV2Client) -> None:
    client.create_endpoint(SPEC)
    other = LaunchSpec(
        model="Qwen/QwQ-32B", hardware=H100, min_replicas=1, max_replicas=1, display_name="llama-8b-r12"
    )
    with pytest.raises(ProviderConflict, match="another model or hardware"):
        client.create_endpoint(other)


def test_an_unanswered_deployment_post_is_resumed(sim: TogetherSimulator, client: TogetherV2Client) -> None:
    sim.inject("POST", r"/v2/projects/.+/deployments", 500, after_commit=True)
    info = client.create_endpoint(SPEC)
    assert len(sim.v2_endpoints[info.id]["_deployments"]) == 1
    assert sim.v2_endpoints[info.id]["trafficSplit"][0]["weight"] == 1


def test_an_unanswered_endpoint_post_is_ambiguous_when_nothing_was_made(
    sim: TogetherSimulator, client: TogetherV2Client, sleeps: list[float]
) -> None:
    sim.inject("POST", r"/v2/projects/.+/endpoints", 503)
    with pytest.raises(ProviderUnavailable) as caught:
        client.create_endpoint(SPEC)
    assert caught.value.ambiguous is True and sleeps == []
    assert sim.v2_endpoints == {}
    assert client.create_endpoint(SPEC).state == "PROVISIONING"  # the domain's retry


def test_an_unanswered_endpoint_post_that_did_create_is_completed(
    sim: TogetherSimulator, client: TogetherV2Client
) -> None:
    sim.inject("POST", r"/v2/projects/.+/endpoints", 500, after_commit=True)
    info = client.create_endpoint(SPEC)
    assert info.state == "PROVISIONING" and len(sim.v2_endpoints) == 1


def test_a_refused_deployment_rolls_the_new_endpoint_back(
    sim: TogetherSimulator, client: TogetherV2Client
) -> None:
    sim.inject("POST", r"/v2/projects/.+/deployments", 400)
    with pytest.raises(ProviderBadRequest):
        client.create_endpoint(SPEC)
    assert sim.v2_endpoints == {}


def test_exhausted_credit_is_402_and_rolls_the_new_endpoint_back(
    sim: TogetherSimulator, client: TogetherV2Client
) -> None:
    sim.credit_exhausted = True
    with pytest.raises(ProviderPaymentRequired) as caught:
        client.create_endpoint(SPEC)
    assert (caught.value.status, caught.value.message) == (402, "Credit limit exceeded")
    assert caught.value.code == "FAILED_PRECONDITION" and not caught.value.ambiguous
    writes = [(m, p.rsplit("/", 1)[-1]) for m, p in calls(sim) if m != "GET"]
    assert writes == [("POST", "endpoints"), ("POST", "deployments"), ("DELETE", writes[2][1])]
    assert writes[2][1].startswith("ep_") and sim.v2_endpoints == {}


def test_a100_does_not_fit_on_v2(client: TogetherV2Client) -> None:
    spec = LaunchSpec(model=LLAMA, hardware="1x_nvidia_a100_80gb_sxm", min_replicas=1, max_replicas=1)
    with pytest.raises(ProviderBadRequest, match="not available") as caught:
        client.create_endpoint(spec)
    assert "1x H100" in caught.value.message


def test_speculative_decoding_choice_picks_the_config(
    sim: TogetherSimulator, client: TogetherV2Client
) -> None:
    def config_for(disable: bool, name: str) -> str:
        spec = LaunchSpec(
            model="Qwen/Qwen3.5-9B-FP8",
            hardware=H100,
            min_replicas=1,
            max_replicas=1,
            display_name=name,
            disable_speculative_decoding=disable,
        )
        client.create_endpoint(spec)
        return str(last(sim, "POST").json["config"])

    with_draft, without = config_for(False, "a"), config_for(True, "b")
    assert with_draft != without
    assert any("/configs/" in r.path for r in sim.requests)  # the configs were read to decide


def test_inactive_timeout_maps_into_v2s_range() -> None:
    assert [v2_inactive_timeout(m) for m in (None, 0, 5, 30, 90, 5000)] == [60, 0, 30, 30, 90, 1440]


def test_names_are_made_v2_safe_and_stay_distinct() -> None:
    assert sanitise_name("llama-8b-r12") == "llama-8b-r12"
    assert sanitise_name("My Endpoint") != sanitise_name("my-endpoint")
    assert sanitise_name("My Endpoint") == sanitise_name("My Endpoint")
    assert sanitise_name("My Endpoint").startswith("my-endpoint-")
    assert len(sanitise_name("x" * 100)) <= 63


# --- states, list, get -------------------------------------------------------------------------


def test_states_follow_the_clock(client: TogetherV2Client, clock: ManualClock) -> None:
    info = client.create_endpoint(SPEC)
    seen = [client.get_endpoint(info.id).state]
    for seconds in (60, 180):
        clock.advance(seconds)
        seen.append(client.get_endpoint(info.id).state)
    assert seen == ["PROVISIONING", "SCALING", "READY"]
    ready = client.get_endpoint(info.id)
    assert (ready.ready_replicas, ready.desired_replicas, ready.status_message) == (
        2,
        2,
        "All replicas ready",
    )


def test_list_is_one_call_whatever_the_number_of_endpoints(
    sim: TogetherSimulator, client: TogetherV2Client
) -> None:
    for n in range(3):
        client.create_endpoint(
            LaunchSpec(model=LLAMA, hardware=H100, min_replicas=1, max_replicas=1, display_name=f"e{n}")
        )
    start = len(sim.requests)
    listed = client.list_endpoints()
    assert calls(sim, start) == [("GET", "/v2/projects/P/endpoints")]
    assert sorted(e.display_name or "" for e in listed) == ["e0", "e1", "e2"]
    assert all(e.model == LLAMA and e.hardware == H100 and e.state == "PROVISIONING" for e in listed)


def test_list_follows_the_cursor() -> None:
    pages = iter(
        [
            {"data": [{"id": "ep_1", "name": "s/a"}], "next_cursor": "c1"},
            {"data": [{"id": "ep_2", "name": "s/b"}], "nextCursor": None},
        ]
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=next(pages))

    client = TogetherV2Client("https://x", KEY, "proj_1", transport=httpx.MockTransport(handler))
    assert [e.id for e in client.list_endpoints()] == ["ep_1", "ep_2"]
    assert seen[1].url.params["after"] == "c1"


def test_a_cursor_that_repeats_does_not_loop_for_ever() -> None:
    page = {"data": [{"id": "ep_1", "name": "s/a"}], "next_cursor": "same"}
    client = TogetherV2Client(
        "https://x", KEY, "proj_1", transport=httpx.MockTransport(lambda r: httpx.Response(200, json=page))
    )
    assert [e.id for e in client.list_endpoints()] == ["ep_1", "ep_1"]


def test_a_deleted_endpoint_is_not_found(client: TogetherV2Client) -> None:
    with pytest.raises(ProviderNotFound) as caught:
        client.get_endpoint("ep_missing")
    assert "not found" in caught.value.message and caught.value.code == "NOT_FOUND"


def test_capacity_shortage_degrades_then_fails_after_six_hours(
    sim: TogetherSimulator, client: TogetherV2Client, clock: ManualClock
) -> None:
    sim.set_headroom("1xnvidia-h100-80gb", 0)
    info = client.create_endpoint(SPEC)
    clock.advance(61)
    degraded = client.get_endpoint(info.id)
    assert degraded.state == "DEGRADED" and "insufficient GPU capacity" in (degraded.status_message or "")
    clock.advance(6 * 3600)
    failed = client.get_endpoint(info.id)
    assert (failed.state, failed.status_message) == ("FAILED", "Timed out waiting for readiness")
    sim.set_headroom("1xnvidia-h100-80gb", None)
    assert client.update_endpoint(info.id, state="STARTED").state == "PROVISIONING"


# --- lifecycle ---------------------------------------------------------------------------------


def ready_endpoint(client: TogetherV2Client, clock: ManualClock) -> str:
    info = client.create_endpoint(SPEC)
    clock.advance(240)
    return info.id


def test_stop_is_0_0_and_start_restores_the_bounds(
    sim: TogetherSimulator, client: TogetherV2Client, clock: ManualClock
) -> None:
    endpoint_id = ready_endpoint(client, clock)
    start = len(sim.requests)
    stopping = client.update_endpoint(endpoint_id, state="STOPPED")
    dep_path = f"/v2/projects/P/endpoints/{endpoint_id}/deployments/{deployment_of(sim, endpoint_id)['id']}"
    assert calls(sim, start) == [
        ("GET", f"/v2/projects/P/endpoints/{endpoint_id}"),
        ("GET", dep_path),
        ("PATCH", dep_path),
    ]
    patch = last(sim, "PATCH")
    assert patch.query == {"updateMask": "autoscaling.minReplicas,autoscaling.maxReplicas,name"}
    assert patch.json["autoscaling"] == {"minReplicas": 0, "maxReplicas": 0} and patch.json["etag"]
    assert patch.json["name"].endswith("-stopped-2-5")
    assert (stopping.state, stopping.min_replicas, stopping.max_replicas) == ("STOPPING", 2, 5)
    clock.advance(30)
    assert client.get_endpoint(endpoint_id).state == "STOPPED"
    assert client.update_endpoint(endpoint_id, state="STOPPED").state == "STOPPED"
    assert last(sim, "PATCH") == patch  # nothing more to do

    started = client.update_endpoint(endpoint_id, state="STARTED")
    body = last(sim, "PATCH").json
    assert body["autoscaling"] == {"minReplicas": 2, "maxReplicas": 5}
    assert not body["name"].endswith("-stopped-2-5")
    assert (started.state, started.min_replicas, started.max_replicas) == ("PROVISIONING", 2, 5)


def test_a_deployment_its_inactive_timeout_stopped_is_started_by_sending_its_bounds_again(
    sim: TogetherSimulator, client: TogetherV2Client, clock: ManualClock
) -> None:
    """Auto-stop leaves the bounds as they were (2/5): a start must still send them, or nothing starts."""
    endpoint_id = ready_endpoint(client, clock)
    client.update_endpoint(endpoint_id, inactive_timeout=30)
    clock.advance(30 * 60 + 31)  # idle for 30 minutes, then 30 s of STOPPING
    stopped = client.get_endpoint(endpoint_id)
    assert (stopped.state, stopped.min_replicas, stopped.max_replicas) == ("STOPPED", 2, 5)
    patches = sum(1 for r in sim.requests if r.method == "PATCH")

    started = client.update_endpoint(endpoint_id, state="STARTED")
    assert sum(1 for r in sim.requests if r.method == "PATCH") == patches + 1
    patch = last(sim, "PATCH")
    assert patch.query == {"updateMask": "autoscaling.minReplicas,autoscaling.maxReplicas"}
    assert patch.json["autoscaling"] == {"minReplicas": 2, "maxReplicas": 5} and patch.json["etag"]
    assert (started.state, started.min_replicas, started.max_replicas) == ("PROVISIONING", 2, 5)
    clock.advance(240)
    assert client.get_endpoint(endpoint_id).state == "READY"


def test_start_with_unknown_bounds_asks_for_them(
    sim: TogetherSimulator, client: TogetherV2Client, clock: ManualClock
) -> None:
    endpoint_id = ready_endpoint(client, clock)
    dep = deployment_of(sim, endpoint_id)
    # Stopped from Together's console: the bounds are lost.
    path = f"/v2/projects/{sim.project_id}/endpoints/{endpoint_id}/deployments/{dep['id']}"
    client._send(
        "PATCH",
        path,
        params={"updateMask": "autoscaling"},
        json={"autoscaling": {"minReplicas": 0, "maxReplicas": 0}},
    )
    with pytest.raises(ProviderBadRequest, match="pass min_replicas and max_replicas"):
        client.update_endpoint(endpoint_id, state="STARTED")
    assert (
        client.update_endpoint(endpoint_id, state="STARTED", min_replicas=1, max_replicas=2).max_replicas == 2
    )


def test_scale_patches_autoscaling_and_passes_through_scaling(
    sim: TogetherSimulator, client: TogetherV2Client, clock: ManualClock
) -> None:
    endpoint_id = ready_endpoint(client, clock)
    scaled = client.update_endpoint(endpoint_id, min_replicas=3)
    assert last(sim, "PATCH").json["autoscaling"] == {"minReplicas": 3, "maxReplicas": 5}
    assert (scaled.state, scaled.min_replicas, scaled.ready_replicas, scaled.desired_replicas) == (
        "SCALING",
        3,
        2,
        3,
    )
    clock.advance(180)
    assert client.get_endpoint(endpoint_id).state == "READY"
    assert client.get_endpoint(endpoint_id).ready_replicas == 3


def test_a_stale_etag_is_read_again_and_retried_once(
    sim: TogetherSimulator, client: TogetherV2Client, clock: ManualClock
) -> None:
    endpoint_id = ready_endpoint(client, clock)
    sim.inject("PATCH", r"/v2/projects/.+/deployments/.+", 409)
    assert client.update_endpoint(endpoint_id, max_replicas=6).max_replicas == 6
    assert [m for m, _ in calls(sim)].count("PATCH") == 3  # trafficSplit, the refused one, the retry
    sim.inject("PATCH", r"/v2/projects/.+/deployments/.+", 409, times=2)
    with pytest.raises(ProviderConflict) as caught:
        client.update_endpoint(endpoint_id, max_replicas=7)
    assert caught.value.code == "ABORTED"


def test_a_real_etag_conflict_from_the_simulator_is_409_aborted(
    sim: TogetherSimulator, client: TogetherV2Client, clock: ManualClock
) -> None:
    endpoint_id = ready_endpoint(client, clock)
    path = f"/v2/projects/{sim.project_id}/endpoints/{endpoint_id}"
    with pytest.raises(ProviderConflict) as caught:
        client._send(
            "PATCH", path, params={"updateMask": "trafficSplit"}, json={"etag": "stale", "trafficSplit": []}
        )
    assert caught.value.code == "ABORTED" and "etag" in caught.value.message


def test_inactive_timeout_and_rename(
    sim: TogetherSimulator, client: TogetherV2Client, clock: ManualClock
) -> None:
    endpoint_id = ready_endpoint(client, clock)
    client.update_endpoint(endpoint_id, inactive_timeout=None)
    assert (
        last(sim, "PATCH").query == {"updateMask": "inactiveTimeout"}
        and last(sim, "PATCH").json["inactiveTimeout"] == 0
    )
    assert client.get_endpoint(endpoint_id).inactive_timeout == 0
    raised = client.update_endpoint(endpoint_id, inactive_timeout=10)
    assert last(sim, "PATCH").json["inactiveTimeout"] == 30
    assert raised.inactive_timeout == 30  # what is in force, for the bot to show
    before = len(sim.requests)
    with pytest.raises(ProviderBadRequest, match="cannot be changed"):
        client.update_endpoint(endpoint_id, display_name="new")
    assert len(sim.requests) == before
    with pytest.raises(ValueError):
        client.update_endpoint(endpoint_id)


def test_delete_stops_waits_then_deletes_deployment_and_endpoint(
    sim: TogetherSimulator, client: TogetherV2Client, clock: ManualClock, sleeps: list[float]
) -> None:
    endpoint_id = ready_endpoint(client, clock)
    dep_path = f"/v2/projects/P/endpoints/{endpoint_id}/deployments/{deployment_of(sim, endpoint_id)['id']}"
    start = len(sim.requests)
    client.delete_endpoint(endpoint_id)
    made = calls(sim, start)
    assert made[:3] == [
        ("GET", f"/v2/projects/P/endpoints/{endpoint_id}"),
        ("GET", dep_path),
        ("PATCH", dep_path),
    ]
    assert made[-2:] == [("DELETE", dep_path), ("DELETE", f"/v2/projects/P/endpoints/{endpoint_id}")]
    # each step until STOPPED reads the endpoint and its deployment, and changes nothing
    assert set(made[3:-2]) == {("GET", dep_path), ("GET", f"/v2/projects/P/endpoints/{endpoint_id}")}
    assert sum(sleeps) >= 30 and sim.v2_endpoints == {}
    with pytest.raises(ProviderNotFound):
        client.delete_endpoint(endpoint_id)


def test_advance_delete_stops_first_then_deletes_without_waiting(
    sim: TogetherSimulator, client: TogetherV2Client, clock: ManualClock, sleeps: list[float]
) -> None:
    endpoint_id = ready_endpoint(client, clock)
    left = client.advance_delete(endpoint_id)
    assert left is not None and left.state == "STOPPING" and left.id == endpoint_id
    assert [r.method for r in sim.requests if r.method not in ("GET",)][-1] == "PATCH"
    patches = sum(1 for r in sim.requests if r.method == "PATCH")
    again = client.advance_delete(endpoint_id)  # still stopping: nothing is sent again
    assert again is not None and again.state == "STOPPING"
    assert sum(1 for r in sim.requests if r.method == "PATCH") == patches
    assert not any(r.method == "DELETE" for r in sim.requests) and sleeps == []
    clock.advance(60)
    assert client.advance_delete(endpoint_id) is None
    assert sim.v2_endpoints == {}
    with pytest.raises(ProviderNotFound):
        client.advance_delete(endpoint_id)


def test_advance_delete_of_a_stopped_endpoint_deletes_at_once(
    sim: TogetherSimulator, client: TogetherV2Client, clock: ManualClock
) -> None:
    endpoint_id = ready_endpoint(client, clock)
    client.update_endpoint(endpoint_id, state="STOPPED")
    clock.advance(60)
    assert client.advance_delete(endpoint_id) is None and sim.v2_endpoints == {}


def test_delete_gives_up_when_the_deployment_never_stops(
    sim: TogetherSimulator, sim_server: SimulatorServer, clock: ManualClock
) -> None:
    with TogetherV2Client(sim_server.url, KEY, sim.project_id, sleep=lambda _: None, stop_wait=20) as client:
        info = client.create_endpoint(SPEC)
        with pytest.raises(ProviderConflict, match="still STOPPING"):
            client.delete_endpoint(info.id)  # the clock does not move
    assert len(sim.v2_endpoints) == 1


def test_the_simulator_refuses_to_delete_a_running_deployment(
    sim: TogetherSimulator, client: TogetherV2Client, clock: ManualClock
) -> None:
    endpoint_id = ready_endpoint(client, clock)
    dep = deployment_of(sim, endpoint_id)
    base = f"/v2/projects/{sim.project_id}/endpoints/{endpoint_id}"
    with pytest.raises(ProviderBadRequest, match="must be stopped") as caught:
        client._send("DELETE", f"{base}/deployments/{dep['id']}")
    assert caught.value.code == "FAILED_PRECONDITION"
    with pytest.raises(ProviderBadRequest, match="delete them first"):
        client._send("DELETE", base)


# --- errors, retries, the key ------------------------------------------------------------------


def test_wrong_key_and_wrong_project(sim_server: SimulatorServer, sim: TogetherSimulator) -> None:
    with (
        TogetherV2Client(sim_server.url, "wrong", sim.project_id) as client,
        pytest.raises(ProviderAuthError) as caught,
    ):
        client.list_endpoints()
    assert caught.value.code == "UNAUTHENTICATED"
    with (
        TogetherV2Client(sim_server.url, KEY, "proj_someone_else") as client,
        pytest.raises(ProviderForbidden),
    ):
        client.list_endpoints()


def test_together_envelope_errors_are_read_too(sim: TogetherSimulator, client: TogetherV2Client) -> None:
    sim.configure_v2(error_shape="together")
    with pytest.raises(ProviderNotFound) as caught:
        client.get_endpoint("ep_missing")
    assert caught.value.message == "Endpoint ep_missing not found" and caught.value.code == "NOT_FOUND"


def test_rpc_details_win_over_the_message() -> None:
    body = {"code": 9, "message": "precondition", "details": [{"detail": "Remove its deployments first"}]}
    client = TogetherV2Client(
        "https://x", KEY, "p", transport=httpx.MockTransport(lambda r: httpx.Response(400, json=body))
    )
    with pytest.raises(ProviderBadRequest) as caught:
        client.delete_endpoint("ep_1")
    assert (caught.value.message, caught.value.code) == (
        "Remove its deployments first",
        "FAILED_PRECONDITION",
    )


def test_reads_are_retried_and_429_honours_retry_after(
    sim: TogetherSimulator, client: TogetherV2Client, sleeps: list[float]
) -> None:
    sim.inject("GET", r"/v2/projects/.+/endpoints", 503, times=2)
    sim.inject("GET", r"/v2/public/inference-instance-types", 429, retry_after=2)
    assert client.list_endpoints() == []
    assert client.list_hardware(LLAMA)
    assert len(sleeps) == 3 and sleeps[-1] == 2.0


def test_rate_limits_that_outlast_the_retries_are_raised(
    sim: TogetherSimulator, client: TogetherV2Client
) -> None:
    sim.inject("GET", r"/v2/projects/.+/endpoints", 429, times=10, retry_after=1)
    with pytest.raises(ProviderRateLimited):
        client.list_endpoints()


def test_the_key_never_appears_in_errors_or_logs(
    sim: TogetherSimulator, sim_server: SimulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[ProviderError] = []
    attempts: list[Callable[[TogetherV2Client], object]] = [
        lambda c: c.list_endpoints(),
        lambda c: c.create_endpoint(SPEC),
        lambda c: c.get_endpoint("ep_x"),
    ]
    with TogetherV2Client(sim_server.url, KEY, sim.project_id, max_retries=1, sleep=lambda _: None) as client:
        assert KEY not in repr(client)
        sim.inject("*", r"/v2/.*", 503, times=20)
        for attempt in attempts:
            with pytest.raises(ProviderError) as caught:
                attempt(client)
            errors.append(caught.value)
    for exc in errors:
        assert KEY not in str(exc) and KEY not in repr(exc)
    assert "retry" in caplog.text and KEY not in caplog.text


def test_list_models_is_the_v2_dedicated_catalogue(client: TogetherV2Client) -> None:
    models = client.list_models()
    assert "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo" in models and len(models) == len(set(models))
