"""Drive the simulator with the official `together` SDK 3.x, with strict response validation.

Run by test_v2_sdk.py in a subprocess whose PYTHONPATH holds SDK 3.x (it cannot live beside the 2.x SDK).
Usage: python sdk3_conformance.py BASE_URL API_KEY PROJECT_ID. Exits non-zero on the first mismatch.
Stands alone: it imports nothing from the bot.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import together
from together import Together


def expect_error(kind: type[Exception], call: Callable[[], object]) -> Exception:
    try:
        call()
    except kind as exc:
        return exc
    raise AssertionError(f"expected {kind.__name__}")


def main(base_url: str, api_key: str, project_id: str) -> None:
    assert together.__version__.startswith("3."), together.__version__
    client = Together(
        api_key=api_key,
        base_url=base_url,
        project_id=project_id,
        max_retries=0,  # the SDK would retry 409s twice; the simulator's answer is what is tested
        _strict_response_validation=True,
    )

    who = client.whoami()
    assert who.type == "project_api_key" and who.project.id == project_id, who
    slug = who.project.slug

    hardware = client.endpoints.hardware.list()
    h100 = next(h for h in hardware.data if h.name == "1xnvidia-h100-80gb")
    assert h100.price_cents_per_hour == 540 and h100.gpu_count == 1, h100
    assert client.endpoints.hardware.retrieve("2xnvidia-h100-80gb").price_cents_per_hour == 1080

    found = list(client.models.list_supported(product="PRODUCT_DEDICATED", search="Llama-3.1-8B"))
    assert [m.name for m in found] == ["meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"], found
    llama = found[0]
    profile = next(p for p in llama.deployment_profiles if p.gpu_type == "H100" and p.gpu_count == 1)
    every = list(client.models.list_supported(product="PRODUCT_DEDICATED", limit=2))  # follows next_cursor
    assert len(every) > 2 and len({m.id for m in every}) == len(every)
    assert client.models.retrieve_supported(llama.id).name == llama.name

    configs = list(client.models.configs.list(reference_model=llama.base_model))
    assert profile.config.rsplit("/", 1)[-1] in {c.id for c in configs}
    owner = profile.config.split("/")[1]
    config = client.models.configs.retrieve(profile.config.rsplit("/", 1)[-1], project_id=owner)
    assert {s.key: s.value for s in config.selectors}["accelerator_type"] == "nvidia-h100-80gb"

    endpoint = client.endpoints.create(name="sdk-ep")
    assert endpoint.name == f"{slug}/sdk-ep" and endpoint.traffic_split == [] and endpoint.deployments == []
    duplicate = expect_error(together.ConflictError, lambda: client.endpoints.create(name="sdk-ep"))
    assert "already exists" in str(duplicate)

    deployment = client.endpoints.deployments.create(
        endpoint_id=endpoint.id,
        name="d1",
        model=profile.model,
        config=profile.config,
        autoscaling={"min_replicas": 1, "max_replicas": 2},
        inactive_timeout=60,
    )
    assert (
        deployment.status.state == "DEPLOYMENT_STATE_PROVISIONING"
        and deployment.hardware == "1xnvidia-h100-80gb"
    )
    assert deployment.name == f"{slug}/sdk-ep/d1" and "/revisions/" in deployment.model

    routed = client.endpoints.update(
        endpoint.id,
        update_mask="trafficSplit",
        etag=endpoint.etag,
        traffic_split=[{"deployment_id": deployment.id, "weight": 1}],
    )
    assert routed.etag != endpoint.etag and routed.traffic_split[0].deployment_id == deployment.id
    stale = expect_error(
        together.ConflictError,
        lambda: client.endpoints.update(
            endpoint.id, update_mask="trafficSplit", etag=endpoint.etag, traffic_split=[]
        ),
    )
    assert "etag" in str(stale)

    fetched = client.endpoints.retrieve(endpoint.id)
    assert fetched.deployments[0].state == "DEPLOYMENT_STATE_PROVISIONING"
    assert (
        fetched.deployments[0].desired_replicas == 1
        and fetched.deployments[0].hardware == "1xnvidia-h100-80gb"
    )
    client.endpoints.create(name="sdk-ep-2")
    assert {e.id for e in client.endpoints.list(limit=1)} >= {endpoint.id}  # follows next_cursor
    assert len(list(client.endpoints.list(limit=1))) == 2
    named = list(client.endpoints.list(filter='name="sdk-ep"'))
    assert [e.id for e in named] == [endpoint.id]

    deployment = client.endpoints.deployments.retrieve(deployment.id, endpoint_id=endpoint.id)
    assert [d.id for d in client.endpoints.deployments.list(endpoint_id=endpoint.id)] == [deployment.id]
    expect_error(together.BadRequestError, lambda: client.endpoints.delete(endpoint.id))
    expect_error(
        together.BadRequestError,
        lambda: client.endpoints.deployments.delete(deployment.id, endpoint_id=endpoint.id),
    )

    stopped = client.endpoints.deployments.update(
        deployment.id,
        endpoint_id=endpoint.id,
        update_mask="autoscaling",
        etag=deployment.etag,
        autoscaling={"min_replicas": 0, "max_replicas": 0},
    )
    assert stopped.autoscaling.max_replicas == 0 and stopped.etag != deployment.etag
    assert stopped.status.state in ("DEPLOYMENT_STATE_STOPPING", "DEPLOYMENT_STATE_STOPPED")
    stopped = client.endpoints.deployments.retrieve(deployment.id, endpoint_id=endpoint.id)
    assert stopped.status.state == "DEPLOYMENT_STATE_STOPPED", stopped.status
    client.endpoints.deployments.delete(deployment.id, endpoint_id=endpoint.id)
    assert client.endpoints.retrieve(endpoint.id).traffic_split == []
    client.endpoints.delete(endpoint.id)
    expect_error(together.NotFoundError, lambda: client.endpoints.retrieve(endpoint.id))
    expect_error(
        together.AuthenticationError,
        lambda: (
            Together(api_key="wrong", base_url=base_url, project_id=project_id, max_retries=0)
            .endpoints.list()
            .data
        ),
    )
    print("sdk3 conformance: ok")


if __name__ == "__main__":
    main(*sys.argv[1:4])
