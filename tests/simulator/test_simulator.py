"""The Together simulator, over real HTTP: wire shapes, validation, the state machine and test controls."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.domain.provider import (
    LaunchSpec,
    ProviderBadRequest,
    ProviderConflict,
    ProviderForbidden,
    ProviderNotFound,
    ProviderPaymentRequired,
)
from bot.simulator.catalog import DEDICATED_MODEL_IDS, HARDWARE_IDS
from bot.simulator.clock import ManualClock, ScaledClock
from bot.simulator.core import TogetherSimulator
from bot.simulator.server import SimulatorServer, SimulatorTransport
from bot.together.v1.client import TogetherClient

KEY = "sim-test-key-0123456789"
SMALL = "Qwen/QwQ-32B"  # fits on one H100
H100 = "1x_nvidia_h100_80gb_sxm"

ENDPOINT_KEYS = {
    "object",
    "id",
    "name",
    "display_name",
    "model",
    "hardware",
    "type",
    "owner",
    "state",
    "autoscaling",
    "created_at",
}
LIST_ITEM_KEYS = {"object", "id", "name", "model", "type", "owner", "state", "created_at"}


@pytest.fixture
def sim_key() -> str:
    return KEY


@pytest.fixture
def http(sim_server: SimulatorServer) -> Iterator[httpx.Client]:
    """A raw HTTP client, for asserting exact wire shapes."""
    with httpx.Client(base_url=sim_server.url + "/v1", headers={"Authorization": f"Bearer {KEY}"}) as raw:
        yield raw


@pytest.fixture
def client(sim_server: SimulatorServer) -> Iterator[TogetherClient]:
    with TogetherClient(sim_server.url, KEY, max_retries=0, sleep=lambda _: None) as together:
        yield together


def spec(model: str = SMALL, hardware: str = H100, **kwargs: Any) -> LaunchSpec:
    kwargs.setdefault("min_replicas", 1)
    kwargs.setdefault("max_replicas", 1)
    return LaunchSpec(model=model, hardware=hardware, **kwargs)


def create_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": SMALL,
        "hardware": H100,
        "autoscaling": {"min_replicas": 1, "max_replicas": 1},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def assert_error_body(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    error: dict[str, Any] = body["error"]
    return error


# --- hardware and catalogue --------------------------------------------------------------------


def test_hardware_without_model_lists_every_config_with_prices_and_no_availability(
    client: TogetherClient,
) -> None:
    options = client.list_hardware()
    by_id = {o.id: o for o in options}
    assert set(by_id) == set(HARDWARE_IDS)
    assert len(options) == 21
    assert by_id["1x_nvidia_h100_80gb_sxm"].cents_per_minute == 9.0
    assert by_id["8x_nvidia_h100_80gb_sxm"].cents_per_minute == 72.0
    assert by_id["2x_nvidia_h200_140gb_sxm"].cents_per_minute == 26.3
    assert by_id["1x_nvidia_b200_180gb_sxm"].cents_per_minute == 19.92
    assert by_id["4x_nvidia_a100_80gb_sxm"].cents_per_minute == 26.68
    assert by_id["1x_nvidia_a100_80gb_pcie"].cents_per_minute == 6.0
    assert by_id["2x_nvidia_l40s"].gpu_memory_gb == 48
    assert by_id["8x_nvidia_b200_180gb_sxm"].gpu_count == 8
    assert by_id["8x_nvidia_b200_180gb_sxm"].gpu_type == "b200-180gb"
    assert all(o.availability is None for o in options)


def test_hardware_item_has_the_documented_shape(http: httpx.Client) -> None:
    response = http.get("/hardware", params={"model": SMALL})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    item = body["data"][0]
    assert set(item) == {"object", "id", "pricing", "specs", "availability", "updated_at"}
    assert item["object"] == "hardware"
    assert set(item["specs"]) == {"gpu_type", "gpu_link", "gpu_memory", "gpu_count"}
    assert item["availability"] == {"status": "available"}


def test_hardware_for_a_model_lists_only_configs_that_fit(client: TogetherClient) -> None:
    ids = {o.id for o in client.list_hardware("meta-llama/Llama-4-Scout-17B-16E-Instruct")}
    assert ids == {"8x_nvidia_h100_80gb_sxm"}
    ids = {o.id for o in client.list_hardware("deepseek-ai/DeepSeek-R1")}
    assert ids == {"8x_nvidia_h200_140gb_sxm", "8x_nvidia_b200_180gb_sxm"}
    ids = {o.id for o in client.list_hardware("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo")}
    assert {"1x_nvidia_a100_80gb_pcie", "1x_nvidia_a100_80gb_sxm", H100} <= ids
    seventy_b = {o.id for o in client.list_hardware("meta-llama/Llama-3.3-70B-Instruct-Turbo")}
    assert H100 not in seventy_b and "2x_nvidia_h100_80gb_sxm" in seventy_b


def test_every_dedicated_model_has_hardware(client: TogetherClient) -> None:
    for model in DEDICATED_MODEL_IDS:
        assert client.list_hardware(model), model


def test_hardware_reports_the_availability_knob(sim: TogetherSimulator, client: TogetherClient) -> None:
    sim.set_availability(H100, "insufficient")
    sim.set_availability("2x_nvidia_h100_80gb_sxm", "unavailable")
    status = {o.id: o.availability for o in client.list_hardware(SMALL)}
    assert status[H100] == "insufficient"
    assert status["2x_nvidia_h100_80gb_sxm"] == "unavailable"
    assert status["4x_nvidia_h100_80gb_sxm"] == "available"


@pytest.mark.parametrize("model", ["nobody/no-such-model", "allenai/OLMo-7B"])
def test_hardware_for_unknown_or_serverless_model_is_not_found(client: TogetherClient, model: str) -> None:
    with pytest.raises(ProviderNotFound) as caught:
        client.list_hardware(model)
    assert "No GPU configurations found for model" in caught.value.message


def test_models_is_a_bare_array_with_a_dedicated_filter(http: httpx.Client) -> None:
    everything = http.get("/models").json()
    dedicated = http.get("/models", params={"dedicated": "true"}).json()
    assert isinstance(everything, list)
    assert {m["id"] for m in dedicated} == set(DEDICATED_MODEL_IDS)
    assert "allenai/OLMo-7B" in {m["id"] for m in everything}
    assert all(m["object"] == "model" and isinstance(m["created"], int) for m in everything)


def test_availability_zones(http: httpx.Client) -> None:
    assert http.get("/clusters/availability-zones").json() == {
        "avzones": ["us-central-4b", "us-east-1a", "us-west-2b"]
    }


def test_unknown_route_is_a_404_error_body(http: httpx.Client) -> None:
    error = assert_error_body(http.get("/nothing/here"), 404)
    assert "Unknown route" in error["message"]


# --- auth --------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}])
def test_missing_or_wrong_key_is_401_invalid_api_key(
    sim_server: SimulatorServer, headers: dict[str, str]
) -> None:
    response = httpx.get(sim_server.url + "/v1/endpoints", headers=headers)
    error = assert_error_body(response, 401)
    assert error["code"] == "invalid_api_key"
    assert error["message"].startswith("Invalid API key provided")


def test_any_key_is_accepted_when_none_is_configured(clock: ManualClock) -> None:
    with SimulatorServer(TogetherSimulator(clock=clock)) as sim_server:
        response = httpx.get(sim_server.url + "/v1/endpoints", headers={"Authorization": "Bearer whatever"})
        assert response.status_code == 200
        assert httpx.get(sim_server.url + "/v1/endpoints").status_code == 401


# --- create --------------------------------------------------------------------------------------


def test_create_answers_200_with_the_documented_endpoint(sim: TogetherSimulator, http: httpx.Client) -> None:
    response = http.post("/endpoints", json=create_body())
    assert response.status_code == 200
    ep = response.json()
    assert set(ep) == ENDPOINT_KEYS
    assert re.fullmatch(r"endpoint-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", ep["id"])
    assert re.fullmatch(r"simuser/Qwen/QwQ-32B-[0-9a-f]{8}", ep["name"])
    assert ep["display_name"] == ep["name"].removeprefix("simuser/")
    assert ep["created_at"] == "2026-05-04T09:46:40.000Z"
    assert ep["state"] == "PENDING"
    assert ep["type"] == "dedicated"
    assert ep["owner"] == "simuser"
    assert ep["autoscaling"] == {"min_replicas": 1, "max_replicas": 1}
    assert sim.endpoints[ep["id"]]["inactive_timeout"] == 60


def test_create_keeps_a_given_display_name(client: TogetherClient) -> None:
    assert client.create_endpoint(spec(display_name="team demo")).display_name == "team demo"


@pytest.mark.parametrize(
    ("launch", "error", "fragment"),
    [
        (spec(hardware=""), ProviderBadRequest, "Hardware is required"),
        (spec(hardware="3x_nvidia_h100_80gb_sxm"), ProviderBadRequest, "invalid hardware provided"),
        (spec(hardware="1x_nvidia_l40s"), ProviderNotFound, "not available for this model"),
        (
            spec(model="meta-llama/Llama-4-Scout-17B-16E-Instruct"),
            ProviderNotFound,
            "not available for this model",
        ),
        (spec(model="nobody/no-such-model"), ProviderNotFound, "not found"),
        (spec(min_replicas=3, max_replicas=2), ProviderBadRequest, "min_replicas"),
        (spec(min_replicas=-1), ProviderBadRequest, "min_replicas"),
        (spec(inactive_timeout=-5), ProviderBadRequest, "inactive_timeout"),
    ],
)
def test_create_validation_errors_reach_the_client_with_togethers_message(
    sim: TogetherSimulator, client: TogetherClient, launch: LaunchSpec, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error) as caught:
        client.create_endpoint(launch)
    assert fragment in caught.value.message  # type: ignore[attr-defined]
    assert sim.endpoints == {}


def test_unknown_model_message_names_the_model(client: TogetherClient) -> None:
    with pytest.raises(ProviderNotFound) as caught:
        client.create_endpoint(spec(model="nobody/no-such-model"))
    message = caught.value.message.lower()
    assert "model" in message and "not found" in message and "nobody/no-such-model" in message


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"autoscaling": ...}, "autoscaling"),
        ({"autoscaling": {"min_replicas": 1}}, "autoscaling.max_replicas"),
        ({"autoscaling": {"min_replicas": "1", "max_replicas": 1}}, "autoscaling.min_replicas"),
        ({"autoscaling": {"min_replicas": 1.5, "max_replicas": 2}}, "autoscaling.min_replicas"),
        ({"autoscaling": 3}, "autoscaling"),
        ({"state": "RUNNING"}, "state"),
        ({"inactive_timeout": "soon"}, "inactive_timeout"),
        ({"availability_zone": "mars-1a"}, "availability_zone"),
        ({"model": ...}, "model"),
    ],
)
def test_malformed_create_bodies_are_400(http: httpx.Client, overrides: dict[str, Any], param: str) -> None:
    error = assert_error_body(http.post("/endpoints", json=create_body(**overrides)), 400)
    assert error["param"] == param


def test_create_with_a_non_json_body_is_400(http: httpx.Client) -> None:
    assert_error_body(http.post("/endpoints", content=b"not json"), 400)


def test_availability_zone_is_accepted_in_body_or_query(sim: TogetherSimulator, http: httpx.Client) -> None:
    in_body = http.post("/endpoints", json=create_body(availability_zone="us-east-1a")).json()
    in_query = http.post("/endpoints", params={"availability_zone": "us-west-2b"}, json=create_body()).json()
    assert sim.endpoints[in_body["id"]]["availability_zone"] == "us-east-1a"
    assert sim.endpoints[in_query["id"]]["availability_zone"] == "us-west-2b"


def test_unavailable_hardware_refuses_create(sim: TogetherSimulator, client: TogetherClient) -> None:
    sim.set_availability(H100, "unavailable")
    with pytest.raises(ProviderBadRequest) as caught:
        client.create_endpoint(spec())
    assert caught.value.message == "Hardware for endpoint not available now. please try again later"
    assert caught.value.status == 400


def test_exhausted_credit_is_402(sim: TogetherSimulator, client: TogetherClient) -> None:
    sim.credit_exhausted = True
    with pytest.raises(ProviderPaymentRequired) as caught:
        client.create_endpoint(spec())
    assert caught.value.message == "Credit limit exceeded"
    assert caught.value.type == "credit_limit"


def test_v1_create_disabled_is_403_and_blocks_restart_but_not_stop(
    sim: TogetherSimulator, client: TogetherClient, clock: ManualClock
) -> None:
    running = client.create_endpoint(spec())
    sim.v1_create_enabled = False
    with pytest.raises(ProviderForbidden) as caught:
        client.create_endpoint(spec())
    assert caught.value.code == caught.value.type == "endpoints_v1_create_access_disabled"
    assert "disabled" in caught.value.message and "v2" in caught.value.message

    assert client.update_endpoint(running.id, state="STOPPED").state == "STOPPING"
    clock.advance(30)
    with pytest.raises(ProviderForbidden) as caught:
        client.update_endpoint(running.id, state="STARTED")
    assert caught.value.code == "endpoints_v1_create_access_disabled"
    assert client.get_endpoint(running.id).state == "STOPPED"


# --- states on the clock -----------------------------------------------------------------------


def test_started_create_goes_pending_starting_started(client: TogetherClient, clock: ManualClock) -> None:
    ep = client.create_endpoint(spec())
    assert ep.state == "PENDING"
    clock.advance(59)
    assert client.get_endpoint(ep.id).state == "PENDING"
    clock.advance(1)
    assert client.get_endpoint(ep.id).state == "STARTING"
    clock.advance(179)
    assert client.get_endpoint(ep.id).state == "STARTING"
    clock.advance(1)
    assert client.get_endpoint(ep.id).state == "STARTED"


def test_durations_can_be_overridden(clock: ManualClock) -> None:
    sim = TogetherSimulator(clock=clock, durations={"pending": 1, "STARTING": 2})
    with SimulatorServer(sim) as sim_server, TogetherClient(sim_server.url, KEY) as client:
        ep = client.create_endpoint(spec())
        clock.advance(3)
        assert client.get_endpoint(ep.id).state == "STARTED"


def test_stopped_create_stays_stopped(client: TogetherClient, clock: ManualClock) -> None:
    ep = client.create_endpoint(spec(start=False))
    assert ep.state == "STOPPED"
    clock.advance(3600)
    assert client.get_endpoint(ep.id).state == "STOPPED"


@pytest.mark.parametrize(("at", "still"), [("STARTING", "PENDING"), ("STARTED", "STARTING")])
def test_next_outcome_error(
    sim: TogetherSimulator, client: TogetherClient, clock: ManualClock, at: str, still: str
) -> None:
    sim.set_next_outcome("ERROR", at=at)
    failing = client.create_endpoint(spec())
    healthy = client.create_endpoint(spec())
    clock.advance(59 if at == "STARTING" else 60 + 179)
    assert client.get_endpoint(failing.id).state == still
    clock.advance(1)
    assert client.get_endpoint(failing.id).state == "ERROR"
    clock.advance(1000)
    assert client.get_endpoint(failing.id).state == "ERROR"
    assert client.get_endpoint(healthy.id).state == "STARTED"


def test_an_errored_endpoint_can_be_started_again(
    sim: TogetherSimulator, client: TogetherClient, clock: ManualClock
) -> None:
    sim.set_next_outcome("ERROR", at="PENDING")
    ep = client.create_endpoint(spec())
    assert ep.state == "ERROR"
    assert client.update_endpoint(ep.id, state="STARTED").state == "PENDING"
    clock.advance(240)
    assert client.get_endpoint(ep.id).state == "STARTED"


def test_stop_then_restart(client: TogetherClient, clock: ManualClock) -> None:
    ep = client.create_endpoint(spec())
    clock.advance(240)
    assert client.update_endpoint(ep.id, state="STOPPED").state == "STOPPING"
    clock.advance(29)
    assert client.get_endpoint(ep.id).state == "STOPPING"
    clock.advance(1)
    assert client.get_endpoint(ep.id).state == "STOPPED"
    assert client.update_endpoint(ep.id, state="STARTED").state == "PENDING"
    clock.advance(240)
    assert client.get_endpoint(ep.id).state == "STARTED"


def test_stopping_during_provisioning_is_allowed(client: TogetherClient, clock: ManualClock) -> None:
    ep = client.create_endpoint(spec())
    clock.advance(61)
    assert client.update_endpoint(ep.id, state="STOPPED").state == "STOPPING"
    clock.advance(300)
    assert client.get_endpoint(ep.id).state == "STOPPED"


def test_starting_an_endpoint_that_is_already_starting_is_a_conflict(
    client: TogetherClient, http: httpx.Client, clock: ManualClock
) -> None:
    ep = client.create_endpoint(spec())
    with pytest.raises(ProviderConflict) as caught:
        client.update_endpoint(ep.id, state="STARTED")
    assert "already starting" in caught.value.message
    clock.advance(61)
    response = http.patch(f"/endpoints/{ep.id}", json={"state": "STARTED"})
    error = assert_error_body(response, 409)
    assert "state" not in response.json()
    assert "already starting" in error["message"]


def test_patch_updates_scaling_name_and_timeout(sim: TogetherSimulator, client: TogetherClient) -> None:
    ep = client.create_endpoint(spec())
    updated = client.update_endpoint(
        ep.id, min_replicas=2, max_replicas=4, display_name="renamed", inactive_timeout=None
    )
    assert (updated.min_replicas, updated.max_replicas, updated.display_name) == (2, 4, "renamed")
    assert sim.endpoints[ep.id]["inactive_timeout"] == 0


def test_bad_patch_changes_nothing(
    sim: TogetherSimulator, http: httpx.Client, client: TogetherClient
) -> None:
    ep = client.create_endpoint(spec())
    body = {"display_name": "new", "autoscaling": {"min_replicas": 5, "max_replicas": 1}}
    assert_error_body(http.patch(f"/endpoints/{ep.id}", json=body), 400)
    assert sim.endpoints[ep.id]["display_name"] == ep.display_name


def test_force_state_is_seen_by_the_next_read(sim: TogetherSimulator, client: TogetherClient) -> None:
    ep = client.create_endpoint(spec())
    sim.force_state(ep.id, "STOPPED")
    assert client.get_endpoint(ep.id).state == "STOPPED"


# --- auto-stop and inference -------------------------------------------------------------------


def chat(http: httpx.Client, model: str) -> httpx.Response:
    return http.post(
        "/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "hi"}]}
    )


def test_auto_stop_after_default_sixty_idle_minutes(client: TogetherClient, clock: ManualClock) -> None:
    ep = client.create_endpoint(spec())
    clock.advance(240)
    assert client.get_endpoint(ep.id).state == "STARTED"
    clock.advance(60 * 60 - 1)
    assert client.get_endpoint(ep.id).state == "STARTED"
    clock.advance(1)
    assert client.get_endpoint(ep.id).state == "STOPPING"
    clock.advance(30)
    assert client.get_endpoint(ep.id).state == "STOPPED"


def test_auto_stop_computed_lazily_after_a_long_gap(client: TogetherClient, clock: ManualClock) -> None:
    ep = client.create_endpoint(spec(inactive_timeout=5))
    clock.advance(24 * 3600)
    assert client.get_endpoint(ep.id).state == "STOPPED"


def test_chat_completions_count_as_activity(
    client: TogetherClient, http: httpx.Client, clock: ManualClock
) -> None:
    ep = client.create_endpoint(spec(inactive_timeout=10))
    clock.advance(240 + 9 * 60)
    response = chat(http, ep.name)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["role"] == "assistant"
    clock.advance(9 * 60)
    assert client.get_endpoint(ep.id).state == "STARTED"
    assert chat(http, ep.id).status_code == 200  # the id works as the model too
    clock.advance(10 * 60)
    assert client.get_endpoint(ep.id).state == "STOPPING"


@pytest.mark.parametrize("timeout", [0, None])
def test_auto_stop_can_be_disabled(http: httpx.Client, clock: ManualClock, timeout: int | None) -> None:
    ep = http.post("/endpoints", json=create_body(inactive_timeout=timeout)).json()
    clock.advance(7 * 24 * 3600)
    assert http.get(f"/endpoints/{ep['id']}").json()["state"] == "STARTED"


def test_chat_against_an_endpoint_that_is_not_started_is_400(
    client: TogetherClient, http: httpx.Client
) -> None:
    ep = client.create_endpoint(spec())
    error = assert_error_body(chat(http, ep.name), 400)
    assert "not running" in error["message"]


def test_chat_against_a_dedicated_only_model_is_400_model_not_available(http: httpx.Client) -> None:
    error = assert_error_body(chat(http, SMALL), 400)
    assert error["code"] == "model_not_available"


# --- list and delete ---------------------------------------------------------------------------


def test_list_envelope_items_and_filters(client: TogetherClient, http: httpx.Client) -> None:
    mine = client.create_endpoint(spec())

    everything = http.get("/endpoints").json()
    assert everything["object"] == "list"
    owners = {item["owner"] for item in everything["data"]}
    assert owners == {"simuser", "together"}
    assert all(set(item) == LIST_ITEM_KEYS for item in everything["data"])
    serverless = [item for item in everything["data"] if item["type"] == "serverless"]
    assert 2 <= len(serverless) <= 3 and all(item["name"] == item["model"] for item in serverless)

    for flag in ("true", "True", "1"):
        only_mine = http.get("/endpoints", params={"mine": flag}).json()["data"]
        assert [item["id"] for item in only_mine] == [mine.id]
    assert len(http.get("/endpoints", params={"type": "serverless"}).json()["data"]) == len(serverless)
    assert http.get("/endpoints", params={"usage_type": "reserved", "mine": "true"}).json()["data"] == []
    assert [e.id for e in client.list_endpoints()] == [mine.id]


def test_delete_answers_204_then_the_endpoint_is_gone(client: TogetherClient, http: httpx.Client) -> None:
    ep = client.create_endpoint(spec())
    response = http.delete(f"/endpoints/{ep.id}")
    assert response.status_code == 204
    assert response.content == b""
    error = assert_error_body(http.get(f"/endpoints/{ep.id}"), 404)
    assert "Endpoint" in error["message"] and "not found" in error["message"]
    assert_error_body(http.delete(f"/endpoints/{ep.id}"), 404)


# --- test controls -----------------------------------------------------------------------------


def test_requests_are_recorded_with_parsed_bodies(sim: TogetherSimulator, client: TogetherClient) -> None:
    client.create_endpoint(spec())
    client.list_endpoints()
    posts = [r for r in sim.requests if r.method == "POST" and r.path == "/v1/endpoints"]
    assert len(posts) == 1
    assert posts[0].json["model"] == SMALL
    assert sim.requests[-1].query == {"type": "dedicated", "mine": "true"}


def test_injected_fault_answers_once_then_clears(sim: TogetherSimulator, http: httpx.Client) -> None:
    sim.inject("GET", r"/v1/hardware", 429, retry_after=3)
    first = http.get("/hardware")
    error = assert_error_body(first, 429)
    assert first.headers["Retry-After"] == "3"
    assert error["message"]
    assert http.get("/hardware").status_code == 200


def test_queued_endpoint_waits_for_capacity(
    sim: TogetherSimulator, client: TogetherClient, clock: ManualClock
) -> None:
    ep = client.create_endpoint(spec())
    sim.set_availability(H100, "unavailable")
    clock.advance(3600)
    assert client.get_endpoint(ep.id).state == "PENDING"
    sim.set_availability(H100, "available")
    clock.advance(60)
    assert client.get_endpoint(ep.id).state == "STARTING"


def test_chaos_fails_requests_at_the_given_rate(sim: TogetherSimulator, http: httpx.Client) -> None:
    sim.chaos(1.0, statuses=(503,), seed=7)
    assert_error_body(http.get("/hardware"), 503)
    sim.chaos(0.0)
    assert http.get("/hardware").status_code == 200


def test_scaled_clock_runs_faster_than_real_time() -> None:
    clock = ScaledClock(600, start=0.0)
    time.sleep(0.01)
    assert clock.now() >= 6.0


def test_transport_serves_the_simulator_without_sockets(clock: ManualClock) -> None:
    sim = TogetherSimulator(clock=clock, api_key=KEY)
    with TogetherClient("http://sim.invalid/v1", KEY, transport=SimulatorTransport(sim)) as client:
        ep = client.create_endpoint(spec())
        assert client.get_endpoint(ep.id).state == "PENDING"
        assert {o.id for o in client.list_hardware(SMALL)} >= {H100}


def test_latency_slows_only_the_routes_it_names(sim: TogetherSimulator, client: TogetherClient) -> None:
    sim.set_latency(0.6, method="GET", path=r"/v1/hardware")
    started = time.monotonic()
    assert client.list_hardware(SMALL)
    slow = time.monotonic() - started
    started = time.monotonic()
    assert client.list_models()
    fast = time.monotonic() - started
    assert slow >= 0.6 and fast < 0.3, (slow, fast)

    sim.set_latency(0, method="GET", path=r"/v1/hardware")  # 0 removes the rule
    started = time.monotonic()
    client.list_hardware(SMALL)
    assert time.monotonic() - started < 0.3
    with pytest.raises(ValueError):
        sim.set_latency(-1)


def test_list_models_is_the_dedicated_catalogue(client: TogetherClient) -> None:
    assert set(client.list_models()) == set(DEDICATED_MODEL_IDS)
