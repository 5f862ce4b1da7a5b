"""The v2 simulator's routes that read no project state: the key's identity (`/v3/whoami`, `/v1/whoami`,
`/v1/projects`) and the public catalogue (instance types, supported models, configs, models).

Each route takes the simulator and the call, as `V2Simulator`'s own routes do; what they read of the
simulator is `Identity` (so this module does not import the simulator back).
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.simulator.v2.catalog import (
    CONFIGS,
    CONFIGS_BY_ID,
    INSTANCE_TYPES,
    INSTANCE_TYPES_BY_ID,
    MODELS_BY_RESOURCE,
    REGIONS,
    SUPPORTED_MODELS,
)
from bot.simulator.v2.wire import Call, V2Error, page


class Identity(Protocol):
    """The key's organisation and project, and the capacity per instance type, as the simulator holds them."""

    key_type: str
    organization_id: str
    organization_name: str
    project_id: str
    project_name: str
    project_slug: str
    headroom: dict[str, int | None]


def whoami_v3(sim: Identity, call: Call) -> Any:
    body: dict[str, Any] = {
        "type": sim.key_type,
        "api_key": {"id": "key_sim"},
        "organization": {"id": sim.organization_id, "name": sim.organization_name},
    }
    if sim.key_type == "project_api_key":
        body["project"] = {"id": sim.project_id, "name": sim.project_name, "slug": sim.project_slug}
    return body


def whoami_v1(sim: Identity, call: Call) -> Any:
    project = sim.key_type == "project_api_key"
    return {
        "api_key_id": "key_sim",
        "organization_id": sim.organization_id,
        "organization_name": sim.organization_name,
        "project_id": sim.project_id if project else None,
        "project_name": sim.project_name if project else None,
        "project_slug": sim.project_slug if project else None,
    }


def projects(sim: Identity, call: Call) -> Any:
    item = {
        "id": sim.project_id,
        "name": sim.project_name,
        "organization_id": sim.organization_id,
        "organization_name": sim.organization_name,
        "slug": sim.project_slug,
    }
    return page([item], call.query)


def instance_type_json(sim: Identity, item: dict[str, Any]) -> dict[str, Any]:
    value = sim.headroom.get(item["id"], 4)
    relation = "RELATION_EQ" if value == 0 else "RELATION_GTE"
    headroom = {"relation": relation} | ({"value": value} if value is not None else {})
    return {**item, "regions": [{"name": r, "headroom": headroom, "compliance": []} for r in REGIONS]}


def instance_types(sim: Identity, call: Call) -> Any:
    return {
        "object": "list",
        "data": [instance_type_json(sim, t) for t in INSTANCE_TYPES],
        "next_cursor": None,
    }


def instance_type(sim: Identity, call: Call) -> Any:
    item = INSTANCE_TYPES_BY_ID.get(call.params["id"])
    if item is None:
        raise V2Error("NOT_FOUND", f"Instance type {call.params['id']} not found")
    return instance_type_json(sim, item)


def supported_models(sim: Identity, call: Call) -> Any:
    items = list(SUPPORTED_MODELS)
    if product := call.query.get("product"):
        items = [m for m in items if product in m["products"]]
    if search := call.query.get("search", "").strip().lower():
        items = [m for m in items if any(search in m[k].lower() for k in ("id", "name", "displayName"))]
    if modality := call.query.get("modality"):
        items = [m for m in items if modality in m["inputModalities"]]
    return page(items, call.query)


def supported_model(sim: Identity, call: Call) -> Any:
    found = next((m for m in SUPPORTED_MODELS if m["id"] == call.params["id"]), None)
    if found is None:
        raise V2Error("NOT_FOUND", f"Supported model {call.params['id']} not found")
    return found


def configs(sim: Identity, call: Call) -> Any:
    reference = call.query.get("referenceModel") or call.query.get("reference_model")
    reference_id = call.query.get("referenceModelId") or call.query.get("reference_model_id")
    items = [c.to_json() for c in CONFIGS]
    if reference:
        items = [c for c in items if c["referenceModel"] == reference.split("/revisions/")[0]]
    if reference_id:
        items = [c for c in items if c["referenceModelId"] == reference_id]
    return page(items, call.query)


def get_config(sim: Identity, call: Call) -> Any:
    config = CONFIGS_BY_ID.get(call.params["id"])
    if config is None:
        raise V2Error("NOT_FOUND", f"Config {call.params['id']} not found")
    return config.to_json()


def get_model(sim: Identity, call: Call) -> Any:
    resource = f"projects/{call.params['p']}/models/{call.params['ml']}"
    model = MODELS_BY_RESOURCE.get(resource)
    if model is None:
        raise V2Error("NOT_FOUND", f"Model {call.params['ml']} not found")
    return {
        "id": call.params["ml"],
        "name": model.id,
        "projectId": call.params["p"],
        "organizationId": "org_platform",
        "visibility": "VISIBILITY_PUBLIC",
        "weights": {"type": "WEIGHTS_TYPE_DEFAULT", "contextLength": str(model.context_length)},
    }
