"""The simulator's v2 side over raw HTTP: wire shapes, validation, errors, catalogue and shared controls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.simulator.catalog import HARDWARE_BY_ID
from bot.simulator.clock import ManualClock
from bot.simulator.core import TogetherSimulator
from bot.simulator.server import SimulatorServer

KEY = "sim-v2-key-0123456789"


@pytest.fixture
def sim_key() -> str:
    return KEY  # conftest's `clock`, `sim` and `sim_server` use this key


@pytest.fixture
def http(sim_server: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim_server.url, headers={"Authorization": f"Bearer {KEY}"}) as raw:
        yield raw


@pytest.fixture
def base(sim: TogetherSimulator) -> str:
    return f"/v2/projects/{sim.project_id}"


def llama_profile(http: httpx.Client) -> dict[str, Any]:
    entry = http.get("/v2/supported-models", params={"search": "Llama-3.1-8B"}).json()["data"][0]
    return next(p for p in entry["deploymentProfiles"] if p["gpuType"] == "H100" and p["gpuCount"] == 1)


def make_deployment(
    http: httpx.Client, base: str, name: str = "ep", **extra: Any
) -> tuple[str, dict[str, Any]]:
    endpoint = http.post(f"{base}/endpoints", json={"name": name}).json()
    profile = llama_profile(http)
    body = {
        "name": "d",
        "model": profile["model"],
        "config": profile["config"],
        "autoscaling": {"minReplicas": 1},
    }
    response = http.post(f"{base}/endpoints/{endpoint['id']}/deployments", json={**body, **extra})
    assert response.status_code == 200, response.text
    return endpoint["id"], response.json()


def rpc_error(response: httpx.Response, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == code
    return str(body["message"])


def test_instance_types_carry_v1_prices_per_hour_and_no_a100(http: httpx.Client) -> None:
    body = http.get("/v2/public/inference-instance-types").json()
    assert body["object"] == "list" and body["next_cursor"] is None
    prices = {t["id"]: t["priceCentsPerHour"] for t in body["data"]}
    assert prices["1xnvidia-h100-80gb"] == HARDWARE_BY_ID["1x_nvidia_h100_80gb_sxm"].cents_per_minute * 60
    assert (
        prices["2xnvidia-h200-141gb"]
        == round(HARDWARE_BY_ID["1x_nvidia_h200_140gb_sxm"].cents_per_minute * 60) * 2
    )
    assert not any("a100" in t for t in prices)
    item = body["data"][0]
    assert item["id"] == item["name"] and isinstance(item["priceCentsPerHour"], int)
    assert item["regions"][0]["headroom"] == {"relation": "RELATION_GTE", "value": 4}


def test_supported_models_have_profiles_for_h100_h200_b200_only(http: httpx.Client) -> None:
    models = http.get("/v2/supported-models", params={"product": "PRODUCT_DEDICATED", "limit": "100"}).json()
    gpus = {p["gpuType"] for m in models["data"] for p in m["deploymentProfiles"]}
    assert gpus == {"H100", "H200", "B200"}
    assert all(m["contextLength"].isdigit() for m in models["data"])  # int64 as a string
    serverless = http.get("/v2/supported-models", params={"product": "PRODUCT_SERVERLESS"}).json()["data"]
    assert serverless and all(m["deploymentProfiles"] == [] for m in serverless)


def test_whoami_in_both_shapes(http: httpx.Client, sim: TogetherSimulator) -> None:
    v3 = http.get("/v3/whoami").json()
    assert v3["type"] == "project_api_key" and v3["project"] == {
        "id": sim.project_id,
        "name": "Simulated project",
        "slug": "simuser",
    }
    assert http.get("/v1/whoami").json()["project_slug"] == "simuser"
    assert http.get("/v1/projects").json()["data"][0]["id"] == sim.project_id
    sim.configure_v2(key_type="org_api_key")
    assert "project" not in http.get("/v3/whoami").json()


def test_deployment_shapes_are_camel_case_with_int64_strings(http: httpx.Client, base: str) -> None:
    endpoint_id, deployment = make_deployment(http, base, maxConcurrentRequestsPerReplica=7)
    assert deployment["maxConcurrentRequestsPerReplica"] == "7"
    assert deployment["autoscaling"] == {"minReplicas": 1, "maxReplicas": 1}  # max defaults to min
    assert deployment["status"]["state"] == "DEPLOYMENT_STATE_PROVISIONING"
    assert deployment["status"]["message"] == "Scheduling replicas"
    assert deployment["name"] == "simuser/ep/d" and deployment["createdAt"].endswith("Z")
    endpoint = http.get(f"{base}/endpoints/{endpoint_id}").json()
    assert endpoint["trafficSplit"] == [] and endpoint["endpointType"] == "ENDPOINT_TYPE_DEDICATED"
    assert endpoint["deployments"][0]["state"] == "DEPLOYMENT_STATE_PROVISIONING"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"autoscaling": {"minReplicas": 0, "maxReplicas": 2}}, "at least 1"),
        ({"autoscaling": {"minReplicas": 3, "maxReplicas": 2}}, "greater than or equal"),
        ({"inactiveTimeout": 10}, "between 30 and 1440"),
        ({"name": "Bad Name"}, "invalid"),
        ({"config": "projects/x/configs/cr_nope"}, "not found"),
    ],
)
def test_deployment_create_is_validated(
    http: httpx.Client, base: str, change: dict[str, Any], needle: str
) -> None:
    endpoint = http.post(f"{base}/endpoints", json={"name": "v"}).json()
    profile = llama_profile(http)
    body = {
        "name": "d",
        "model": profile["model"],
        "config": profile["config"],
        "autoscaling": {"minReplicas": 1},
    }
    response = http.post(f"{base}/endpoints/{endpoint['id']}/deployments", json={**body, **change})
    assert response.status_code in (400, 404) and needle in response.json()["message"]


def test_a_config_for_another_model_is_refused(http: httpx.Client, base: str) -> None:
    endpoint = http.post(f"{base}/endpoints", json={"name": "v"}).json()
    qwq = http.get("/v2/supported-models", params={"search": "QwQ"}).json()["data"][0]["deploymentProfiles"][
        0
    ]
    body = {
        "name": "d",
        "model": llama_profile(http)["model"],
        "config": qwq["config"],
        "autoscaling": {"minReplicas": 1},
    }
    message = rpc_error(http.post(f"{base}/endpoints/{endpoint['id']}/deployments", json=body), 400, 3)
    assert "not compatible" in message


def test_validate_only_changes_nothing(http: httpx.Client, base: str, sim: TogetherSimulator) -> None:
    endpoint = http.post(f"{base}/endpoints", json={"name": "v"}).json()
    profile = llama_profile(http)
    body = {
        "name": "d",
        "model": profile["model"],
        "config": profile["config"],
        "autoscaling": {"minReplicas": 1},
    }
    response = http.post(
        f"{base}/endpoints/{endpoint['id']}/deployments", params={"validateOnly": "true"}, json=body
    )
    assert response.status_code == 200
    assert sim.v2_endpoints[endpoint["id"]]["_deployments"] == []


def test_endpoint_names_duplicates_and_foreign_slugs(http: httpx.Client, base: str) -> None:
    assert (
        http.post(f"{base}/endpoints", json={"name": "simuser/qualified"}).json()["name"]
        == "simuser/qualified"
    )
    assert "already exists" in rpc_error(http.post(f"{base}/endpoints", json={"name": "qualified"}), 409, 6)
    rpc_error(http.post(f"{base}/endpoints", json={"name": "other/x"}), 400, 3)


def test_patches_need_fields_and_a_current_etag(http: httpx.Client, base: str) -> None:
    endpoint_id, deployment = make_deployment(http, base)
    path = f"{base}/endpoints/{endpoint_id}"
    assert rpc_error(http.patch(path, json={"trafficSplit": []}), 400, 3) == "no fields to update"
    assert "etag" in rpc_error(
        http.patch(
            f"{path}/deployments/{deployment['id']}",
            params={"update_mask": "autoscaling"},
            json={"etag": "old", "autoscaling": {"maxReplicas": 3}},
        ),
        409,
        10,
    )
    updated = http.patch(
        f"{path}/deployments/{deployment['id']}",
        params={"update_mask": "autoscaling"},
        json={"etag": deployment["etag"], "autoscaling": {"maxReplicas": 3}},
    ).json()
    assert (
        updated["autoscaling"] == {"minReplicas": 1, "maxReplicas": 3}
        and updated["etag"] != deployment["etag"]
    )


def test_exhausted_credit_refuses_what_would_start_replicas_with_402(
    http: httpx.Client, base: str, sim: TogetherSimulator, clock: ManualClock
) -> None:
    running_id, running = make_deployment(http, base, "running")
    stopped_id, stopped = make_deployment(http, base, "stopped")
    stopped_path = f"{base}/endpoints/{stopped_id}/deployments/{stopped['id']}"
    stopped = http.patch(stopped_path, json={"autoscaling": {"minReplicas": 0, "maxReplicas": 0}}).json()
    clock.advance(31)
    sim.credit_exhausted = True

    endpoint = http.post(f"{base}/endpoints", json={"name": "new"})
    assert endpoint.status_code == 200  # an endpoint runs nothing and costs nothing
    profile = llama_profile(http)
    body = {"name": "d", "model": profile["model"], "config": profile["config"]}
    refused = http.post(
        f"{base}/endpoints/{endpoint.json()['id']}/deployments",
        json={**body, "autoscaling": {"minReplicas": 1, "maxReplicas": 2}},
    )
    assert rpc_error(refused, 402, 9) == "Credit limit exceeded"  # FAILED_PRECONDITION: add credit first
    at_rest = http.post(
        f"{base}/endpoints/{endpoint.json()['id']}/deployments",
        json={**body, "name": "d0", "autoscaling": {"minReplicas": 0, "maxReplicas": 0}},
    )
    assert at_rest.status_code == 200 and at_rest.json()["status"]["state"] == "DEPLOYMENT_STATE_STOPPED"

    start = {"etag": stopped["etag"], "autoscaling": {"minReplicas": 1, "maxReplicas": 1}}
    assert rpc_error(http.patch(stopped_path, json=start), 402, 9) == "Credit limit exceeded"
    assert sim.v2_endpoints[stopped_id]["_deployments"][0]["etag"] == stopped["etag"]  # nothing changed
    running_path = f"{base}/endpoints/{running_id}/deployments/{running['id']}"
    scaled = http.patch(running_path, json={"autoscaling": {"minReplicas": 1, "maxReplicas": 3}})
    assert scaled.status_code == 200  # a running deployment may still be scaled, as on v1

    sim.configure_v2(error_shape="together")
    again = http.patch(stopped_path, json=start)
    assert again.status_code == 402
    assert again.json()["error"]["message"] == "Credit limit exceeded"
    sim.credit_exhausted = False
    assert http.patch(stopped_path, json=start).json()["status"]["state"] == "DEPLOYMENT_STATE_PROVISIONING"


def test_bad_filters_and_pages(http: httpx.Client, base: str) -> None:
    for n in range(3):
        http.post(f"{base}/endpoints", json={"name": f"e{n}"})
    first = http.get(f"{base}/endpoints", params={"limit": "2"}).json()
    second = http.get(f"{base}/endpoints", params={"limit": "2", "after": first["next_cursor"]}).json()
    assert [e["name"] for e in first["data"] + second["data"]] == ["simuser/e0", "simuser/e1", "simuser/e2"]
    assert second["next_cursor"] is None
    newest = http.get(f"{base}/endpoints", params={"orderBy": "created_at desc", "filter": 'name:"e"'}).json()
    assert len(newest["data"]) == 3
    assert (
        rpc_error(http.get(f"{base}/endpoints", params={"filter": "name ~ e1"}), 400, 3)
        == "invalid filter expression"
    )


def test_faults_and_the_request_log_are_shared_with_v1(
    http: httpx.Client, base: str, sim: TogetherSimulator
) -> None:
    sim.inject("GET", r"/v2/.*", 503)
    response = http.get(f"{base}/endpoints")
    assert response.status_code == 503 and response.json()["code"] == 14
    assert http.get("/v1/hardware").status_code == 200
    assert [r.path for r in sim.requests] == [f"{base}/endpoints", "/v1/hardware"]
    assert http.get(f"{base}/endpoints", headers={"Authorization": "Bearer nope"}).json()["code"] == 16


def test_inference_routes_by_split_and_idle_deployments_stop(
    http: httpx.Client, base: str, sim: TogetherSimulator, clock: ManualClock
) -> None:
    endpoint_id, deployment = make_deployment(http, base, inactiveTimeout=30)
    chat = {"model": "simuser/ep", "messages": [{"role": "user", "content": "hi"}]}
    assert http.post("/v1/chat/completions", json=chat).json()["error"]["code"] == "routing_error"
    endpoint = http.get(f"{base}/endpoints/{endpoint_id}").json()
    split = [{"deploymentId": deployment["id"], "weight": 1}]
    http.patch(
        f"{base}/endpoints/{endpoint_id}",
        params={"updateMask": "trafficSplit"},
        json={"trafficSplit": split, "etag": endpoint["etag"]},
    )
    clock.advance(240)
    assert http.post("/v1/chat/completions", json=chat).status_code == 200
    clock.advance(30 * 60 + 31)
    state = sim.v2_endpoints[endpoint_id]["_deployments"][0]["status"]["state"]
    assert state == "DEPLOYMENT_STATE_STOPPED"
    assert http.post("/v1/chat/completions", json=chat).json()["error"]["code"] == "deployment_stopped"


def test_switches_auto_route_and_delete_while_stopping(
    http: httpx.Client, base: str, sim: TogetherSimulator
) -> None:
    sim.configure_v2(auto_route_first=True, delete_when_max_zero=True)
    endpoint_id, deployment = make_deployment(http, base)
    assert http.get(f"{base}/endpoints/{endpoint_id}").json()["trafficSplit"] == [
        {"deploymentId": deployment["id"], "weight": 1}
    ]
    path = f"{base}/endpoints/{endpoint_id}/deployments/{deployment['id']}"
    http.patch(
        path, params={"updateMask": "autoscaling"}, json={"autoscaling": {"minReplicas": 0, "maxReplicas": 0}}
    )
    assert http.delete(path).json() == {}
    assert http.get(f"{base}/endpoints/{endpoint_id}").json()["trafficSplit"] == []
    with pytest.raises(ValueError):
        sim.configure_v2(nonsense=True)
