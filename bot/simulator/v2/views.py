"""The JSON of the v2 simulator's endpoints and deployments, as Together's v2 API answers them (§4)."""

from __future__ import annotations

from typing import Any

from bot.simulator.v2.catalog import CONFIGS_BY_ID
from bot.simulator.v2.state import SimDeployment, SimEndpoint, rfc3339


def endpoint_json(
    ep: SimEndpoint, deployments: dict[str, SimDeployment], project_slug: str, project_id: str
) -> dict[str, Any]:
    """An endpoint as GET shows it, with a summary of each of its deployments."""
    deps = [deployments[d] for d in ep.deployment_ids]
    weights = {e["deploymentId"]: e["weight"] for e in ep.traffic_split}
    capacity = sum(weights.get(d.id, 0) * d.ready for d in deps)
    return {
        "id": ep.id,
        "name": f"{project_slug}/{ep.bare}",
        "projectId": project_id,
        "endpointType": "ENDPOINT_TYPE_DEDICATED",
        "visibility": ep.visibility,
        "etag": ep.etag,
        "trafficSplit": [dict(e) for e in ep.traffic_split],
        "deployments": [
            {
                "id": d.id,
                "name": f"{project_slug}/{ep.bare}/{d.name}",
                "model": d.model,
                "modelId": d.model.split("/")[3],
                "state": f"DEPLOYMENT_STATE_{d.state}",
                "autoscaling": d.autoscaling(),
                "trafficMode": "TRAFFIC_MODE_LIVE",
                "estimatedEffectiveTrafficShare": (weights.get(d.id, 0) * d.ready / capacity)
                if capacity
                else 0.0,
                "desiredReplicas": d.target,
                "readyReplicas": d.ready,
                "hardware": d.hardware,
                "createdAt": rfc3339(d.created_at),
            }
            for d in deps
        ],
        "createdAt": rfc3339(ep.created_at),
        "updatedAt": rfc3339(ep.updated_at),
    }


def deployment_json(
    dep: SimDeployment,
    ep: SimEndpoint,
    deployments: dict[str, SimDeployment],
    project_slug: str,
    project_id: str,
) -> dict[str, Any]:
    """A deployment as GET shows it, in its endpoint `ep`."""
    weights = {e["deploymentId"]: e["weight"] for e in ep.traffic_split}
    capacity = sum(weights.get(d, 0) * deployments[d].ready for d in ep.deployment_ids)
    parts = dep.model.split("/")
    body: dict[str, Any] = {
        "id": dep.id,
        "name": f"{project_slug}/{ep.bare}/{dep.name}",
        "projectId": project_id,
        "endpointId": ep.id,
        "etag": dep.etag,
        "autoscaling": dep.autoscaling(),
        "config": dep.config,
        "configId": dep.config.rsplit("/", 1)[-1],
        "model": dep.model,
        "modelId": parts[3],
        "modelRevisionId": parts[5],
        "hardware": dep.hardware,
        "status": dep.status(),
        "trafficMode": "TRAFFIC_MODE_LIVE",
        "desiredReplicas": dep.target,
        "estimatedEffectiveTrafficShare": (weights.get(dep.id, 0) * dep.ready / capacity)
        if capacity
        else 0.0,
        "createdAt": rfc3339(dep.created_at),
        "updatedAt": rfc3339(dep.updated_at),
    }
    if dep.inactive_timeout:
        body["inactiveTimeout"] = dep.inactive_timeout
    if dep.max_concurrent is not None:
        body["maxConcurrentRequestsPerReplica"] = dep.max_concurrent
    config = CONFIGS_BY_ID.get(dep.config.rsplit("/", 1)[-1])
    if config is not None and config.draft_model:
        body["speculator"] = config.draft_model
    return body
