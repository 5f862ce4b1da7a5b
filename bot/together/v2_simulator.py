"""The v2 half of the Together simulator: project-scoped endpoints → deployments → configs (v2 reference §11).

`V2Simulator.route` answers `/v2/...`, `/v3/whoami`, `/v1/whoami` and `/v1/projects`; `TogetherSimulator`
sends those paths here, so one process (and one clock, key, fault list and request log) serves both APIs.
Bodies are camelCase with prefixed enums and int64 fields as strings; errors use the RPC shape
`{"code", "message", "details"}` (switchable to Together's envelope with `error_shape="together"`).
Test controls: `set_headroom`, `force_deployment_state`, `key_type`, `auto_route_first`,
`delete_when_max_zero`, `auto_stop`.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import unquote

from bot.together.v2_sim_catalog import (
    CONFIGS,
    CONFIGS_BY_ID,
    INSTANCE_TYPES,
    INSTANCE_TYPES_BY_ID,
    MODELS_BY_RESOURCE,
    PUBLIC_PROJECTS,
    REGIONS,
    SUPPORTED_MODELS,
    sim_id,
)
from bot.together.v2_sim_state import (
    DEFAULT_V2_DURATIONS,
    DEGRADED,
    FAILED,
    PROVISIONING,
    STOPPED,
    V2_STATES,
    SimDeployment,
    SimEndpoint,
    new_etag,
    rfc3339,
)

GRPC = {
    "INVALID_ARGUMENT": (3, 400),
    "FAILED_PRECONDITION": (9, 400),
    "UNAUTHENTICATED": (16, 401),
    "PERMISSION_DENIED": (7, 403),
    "NOT_FOUND": (5, 404),
    "ALREADY_EXISTS": (6, 409),
    "ABORTED": (10, 409),
    "RESOURCE_EXHAUSTED": (8, 429),
    "INTERNAL": (13, 500),
    "UNAVAILABLE": (14, 503),
}
_CODE_FOR_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
}
_CODE_FOR_STATUS |= {409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_CLAUSE = re.compile(r'^\s*(\w+)\s*(=|!=|<=|>=|<|>|:)\s*"([^"]*)"\s*$')
PAGE_DEFAULT, PAGE_MAX = 50, 1000


class Clock(Protocol):
    def now(self) -> float: ...


class V2Error(Exception):
    """Raised inside a v2 route; becomes an RPC error body with the gRPC→HTTP status mapping."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.status = GRPC[code][1]


class InferenceRefused(Exception):
    """A chat completion the v2 side refuses (Together's envelope, as inference answers)."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def handles(path: str) -> bool:
    """Whether `path` is one of the v2 side's routes."""
    return path.startswith("/v2/") or path in ("/v3/whoami", "/v1/whoami", "/v1/projects")


class V2Simulator:
    def __init__(
        self,
        clock: Clock,
        *,
        project_id: str,
        project_slug: str,
        project_name: str = "Simulated project",
        organization_id: str = "org_sim",
        organization_name: str = "Simulated organisation",
        durations: dict[str, float] | None = None,
    ) -> None:
        self.clock = clock
        self.project_id, self.project_slug, self.project_name = project_id, project_slug, project_name
        self.organization_id, self.organization_name = organization_id, organization_name
        self.key_type = "project_api_key"  # or "org_api_key": whoami then names no project
        self.error_shape = "rpc"  # or "together"
        self.auto_route_first = False  # whether the server routes an endpoint's first deployment itself
        self.delete_when_max_zero = False  # allow deleting a STOPPING deployment whose bounds are 0/0
        self.auto_stop = True  # inactiveTimeout stops an idle READY deployment
        self.durations = dict(DEFAULT_V2_DURATIONS)
        for key, seconds in (durations or {}).items():
            if key.upper() not in DEFAULT_V2_DURATIONS:
                raise ValueError(f"unknown v2 duration {key!r}; use {sorted(DEFAULT_V2_DURATIONS)}")
            self.durations[key.upper()] = float(seconds)
        self._headroom: dict[str, int | None] = {}
        self._endpoints: dict[str, SimEndpoint] = {}
        self._deployments: dict[str, SimDeployment] = {}
        self._serial = 0

    # --- test controls (the caller holds the simulator's lock) --------------------------------

    def set_headroom(self, instance_type: str, value: int | None) -> None:
        """Replicas that still fit on `instance_type` (None: unknown). 0 leaves new deployments DEGRADED."""
        if instance_type not in INSTANCE_TYPES_BY_ID:
            raise KeyError(instance_type)
        now = self.clock.now()
        self._settle_all(now)
        was = self._headroom.get(instance_type)
        self._headroom[instance_type] = value
        if was == 0 and value != 0:
            for dep in self._deployments.values():
                if dep.hardware == instance_type and dep.state == DEGRADED:
                    dep.enter(PROVISIONING, now)

    def force_deployment_state(self, deployment_id: str, state: str, message: str | None = None) -> None:
        if state not in V2_STATES:
            raise ValueError(f"unknown state {state!r}")
        dep = self._deployments[deployment_id]
        dep.enter(state, self.clock.now(), message)

    def snapshot(self) -> dict[str, Any]:
        """Every endpoint as GET shows it, by id (deployments in full under `_deployments`)."""
        now = self.clock.now()
        self._settle_all(now)
        return {
            ep.id: {
                **self._endpoint_json(ep),
                "_deployments": [self._deployment_json(self._deployments[d]) for d in ep.deployment_ids],
            }
            for ep in self._endpoints.values()
        }

    # --- entry points --------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        now = self.clock.now()
        for verb, pattern, handler in _ROUTES:
            match = pattern.fullmatch(path)
            if match and verb == method:
                params = {k: unquote(v) for k, v in match.groupdict().items()}
                if "p" in params:
                    self._check_project(params["p"], allow_public=handler is V2Simulator._get_config)
                return 200, handler(self, _Call(method, params, query, body, now))
        raise V2Error("NOT_FOUND", f"Unknown route: {method} {path}")

    def error_body(self, status: int, message: str, code: str | None = None) -> bytes:
        name = (
            code
            if code in GRPC
            else _CODE_FOR_STATUS.get(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
        )
        if self.error_shape == "together":
            body: dict[str, Any] = {
                "error": {"message": message, "type": name.lower(), "param": None, "code": name}
            }
        else:
            body = {"code": GRPC[name][0], "message": message, "details": []}
        return json.dumps(body).encode()

    def infer(self, target: str, now: float) -> bool:
        """Route a chat completion for `slug/endpoint[/deployment]`; False when it names no v2 endpoint."""
        parts = target.split("/")
        if len(parts) not in (2, 3) or parts[0] != self.project_slug:
            return False
        ep = next((e for e in self._endpoints.values() if e.bare == parts[1]), None)
        if ep is None:
            return False
        self._settle_all(now)
        if len(parts) == 3:
            chosen = [d for d in map(self._deployments.get, ep.deployment_ids) if d and d.name == parts[2]]
        else:
            weights = {e["deploymentId"]: e["weight"] for e in ep.traffic_split}
            chosen = [self._deployments[d] for d in ep.deployment_ids if weights.get(d, 0) > 0]
        serving = [d for d in chosen if d.ready > 0]
        if not serving:
            if chosen and all(d.state in (STOPPED, "STOPPING") for d in chosen):
                raise InferenceRefused(400, f"Deployment of {target} is stopped", "deployment_stopped")
            raise InferenceRefused(503, f"No routable deployment for {target}", "routing_error")
        for dep in serving:
            dep.last_activity = now
        return True

    # --- helpers -------------------------------------------------------------------------------

    def _check_project(self, project: str, *, allow_public: bool) -> None:
        if project == self.project_id or (allow_public and project in PUBLIC_PROJECTS):
            return
        raise V2Error("PERMISSION_DENIED", f"The API key has no access to project {project}")

    def _has_capacity(self, hardware: str) -> bool:
        return self._headroom.get(hardware) != 0

    def _settle(self, dep: SimDeployment, now: float) -> None:
        dep.settle(now, self.durations, self._has_capacity(dep.hardware), self.auto_stop)

    def _settle_all(self, now: float) -> None:
        for dep in self._deployments.values():
            self._settle(dep, now)

    def _new_id(self, prefix: str) -> str:
        self._serial += 1
        return sim_id(prefix, f"{self.project_id}|{prefix}|{self._serial}|{new_etag()}")

    def _endpoint(self, call: _Call) -> SimEndpoint:
        ep = self._endpoints.get(call.params["ep"])
        if ep is None:
            raise V2Error("NOT_FOUND", f"Endpoint {call.params['ep']} not found")
        for dep_id in ep.deployment_ids:
            self._settle(self._deployments[dep_id], call.now)
        return ep

    def _deployment(self, call: _Call) -> tuple[SimEndpoint, SimDeployment]:
        ep = self._endpoint(call)
        dep = self._deployments.get(call.params["dep"])
        if dep is None or dep.endpoint_id != ep.id:
            raise V2Error("NOT_FOUND", f"Deployment {call.params['dep']} not found")
        return ep, dep

    def _bare_name(self, value: Any, what: str) -> str:
        if not isinstance(value, str) or not value:
            raise V2Error("INVALID_ARGUMENT", f"{what} is required")
        slug, _, bare = value.rpartition("/")
        if slug and slug != self.project_slug:
            raise V2Error(
                "INVALID_ARGUMENT", f"{what} {value!r} names project slug {slug!r}, not {self.project_slug!r}"
            )
        if not _NAME.match(bare):
            raise V2Error(
                "INVALID_ARGUMENT",
                f"{what} {bare!r} is invalid: use lowercase letters, digits and '-', at most 63 characters",
            )
        return bare

    @staticmethod
    def _check_etag(given: Any, current: str, what: str) -> None:
        if given not in (None, "") and given != current:
            raise V2Error(
                "ABORTED", f"{what} has been modified: etag {given!r} does not match; read it again"
            )

    def _endpoint_json(self, ep: SimEndpoint) -> dict[str, Any]:
        deps = [self._deployments[d] for d in ep.deployment_ids]
        weights = {e["deploymentId"]: e["weight"] for e in ep.traffic_split}
        capacity = sum(weights.get(d.id, 0) * d.ready for d in deps)
        return {
            "id": ep.id,
            "name": f"{self.project_slug}/{ep.bare}",
            "projectId": self.project_id,
            "endpointType": "ENDPOINT_TYPE_DEDICATED",
            "visibility": ep.visibility,
            "etag": ep.etag,
            "trafficSplit": [dict(e) for e in ep.traffic_split],
            "deployments": [
                {
                    "id": d.id,
                    "name": f"{self.project_slug}/{ep.bare}/{d.name}",
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

    def _deployment_json(self, dep: SimDeployment) -> dict[str, Any]:
        ep = self._endpoints[dep.endpoint_id]
        weights = {e["deploymentId"]: e["weight"] for e in ep.traffic_split}
        capacity = sum(weights.get(d, 0) * self._deployments[d].ready for d in ep.deployment_ids)
        parts = dep.model.split("/")
        body: dict[str, Any] = {
            "id": dep.id,
            "name": f"{self.project_slug}/{ep.bare}/{dep.name}",
            "projectId": self.project_id,
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

    # --- routes: identity and catalogue ------------------------------------------------------

    def _whoami_v3(self, call: _Call) -> Any:
        body: dict[str, Any] = {
            "type": self.key_type,
            "api_key": {"id": "key_sim"},
            "organization": {"id": self.organization_id, "name": self.organization_name},
        }
        if self.key_type == "project_api_key":
            body["project"] = {"id": self.project_id, "name": self.project_name, "slug": self.project_slug}
        return body

    def _whoami_v1(self, call: _Call) -> Any:
        project = self.key_type == "project_api_key"
        return {
            "api_key_id": "key_sim",
            "organization_id": self.organization_id,
            "organization_name": self.organization_name,
            "project_id": self.project_id if project else None,
            "project_name": self.project_name if project else None,
            "project_slug": self.project_slug if project else None,
        }

    def _projects(self, call: _Call) -> Any:
        item = {
            "id": self.project_id,
            "name": self.project_name,
            "organization_id": self.organization_id,
            "organization_name": self.organization_name,
            "slug": self.project_slug,
        }
        return _page([item], call.query)

    def _instance_type_json(self, item: dict[str, Any]) -> dict[str, Any]:
        value = self._headroom.get(item["id"], 4)
        relation = "RELATION_EQ" if value == 0 else "RELATION_GTE"
        headroom = {"relation": relation} | ({"value": value} if value is not None else {})
        return {**item, "regions": [{"name": r, "headroom": headroom, "compliance": []} for r in REGIONS]}

    def _instance_types(self, call: _Call) -> Any:
        return {
            "object": "list",
            "data": [self._instance_type_json(t) for t in INSTANCE_TYPES],
            "next_cursor": None,
        }

    def _instance_type(self, call: _Call) -> Any:
        item = INSTANCE_TYPES_BY_ID.get(call.params["id"])
        if item is None:
            raise V2Error("NOT_FOUND", f"Instance type {call.params['id']} not found")
        return self._instance_type_json(item)

    def _supported_models(self, call: _Call) -> Any:
        items = list(SUPPORTED_MODELS)
        if product := call.query.get("product"):
            items = [m for m in items if product in m["products"]]
        if search := call.query.get("search", "").strip().lower():
            items = [m for m in items if any(search in m[k].lower() for k in ("id", "name", "displayName"))]
        if modality := call.query.get("modality"):
            items = [m for m in items if modality in m["inputModalities"]]
        return _page(items, call.query)

    def _supported_model(self, call: _Call) -> Any:
        found = next((m for m in SUPPORTED_MODELS if m["id"] == call.params["id"]), None)
        if found is None:
            raise V2Error("NOT_FOUND", f"Supported model {call.params['id']} not found")
        return found

    def _configs(self, call: _Call) -> Any:
        reference = call.query.get("referenceModel") or call.query.get("reference_model")
        reference_id = call.query.get("referenceModelId") or call.query.get("reference_model_id")
        items = [c.to_json() for c in CONFIGS]
        if reference:
            items = [c for c in items if c["referenceModel"] == reference.split("/revisions/")[0]]
        if reference_id:
            items = [c for c in items if c["referenceModelId"] == reference_id]
        return _page(items, call.query)

    def _get_config(self, call: _Call) -> Any:
        config = CONFIGS_BY_ID.get(call.params["id"])
        if config is None:
            raise V2Error("NOT_FOUND", f"Config {call.params['id']} not found")
        return config.to_json()

    # --- routes: endpoints ---------------------------------------------------------------------

    def _list_endpoints(self, call: _Call) -> Any:
        self._settle_all(call.now)
        items = [self._endpoint_json(ep) for ep in self._endpoints.values()]
        return _page(_order(_filter(items, call.query, self.project_slug), call.query), call.query)

    def _create_endpoint(self, call: _Call) -> Any:
        body = call.object_body()
        bare = self._bare_name(body.get("name"), "name")
        visibility = body.get("visibility") or "VISIBILITY_PRIVATE"
        if visibility not in ("VISIBILITY_PRIVATE", "VISIBILITY_INTERNAL"):
            raise V2Error("INVALID_ARGUMENT", f"invalid visibility {visibility!r}")
        if any(ep.bare == bare for ep in self._endpoints.values()):
            raise V2Error("ALREADY_EXISTS", f"endpoint {self.project_slug}/{bare} already exists")
        ep = SimEndpoint(self._new_id("ep_"), bare, call.now, call.now, visibility=visibility)
        self._endpoints[ep.id] = ep
        return self._endpoint_json(ep)

    def _get_endpoint(self, call: _Call) -> Any:
        return self._endpoint_json(self._endpoint(call))

    def _update_endpoint(self, call: _Call) -> Any:
        ep = self._endpoint(call)
        body = call.object_body()
        fields = call.mask({"trafficSplit", "visibility", "name"}, body)
        self._check_etag(body.get("etag"), ep.etag, f"Endpoint {ep.id}")
        if "name" in fields and self._bare_name(body.get("name"), "name") != ep.bare:
            raise V2Error("INVALID_ARGUMENT", "An endpoint's name cannot be changed")
        split = ep.traffic_split
        if "trafficSplit" in fields:
            split = _validate_split(body.get("trafficSplit") or [], ep)
        if "visibility" in fields:
            if body.get("visibility") not in ("VISIBILITY_PRIVATE", "VISIBILITY_INTERNAL"):
                raise V2Error("INVALID_ARGUMENT", f"invalid visibility {body.get('visibility')!r}")
            ep.visibility = body["visibility"]
        ep.traffic_split = split
        ep.etag, ep.updated_at = new_etag(), call.now
        return self._endpoint_json(ep)

    def _delete_endpoint(self, call: _Call) -> Any:
        ep = self._endpoint(call)
        self._check_etag(call.query.get("etag"), ep.etag, f"Endpoint {ep.id}")
        if ep.deployment_ids:
            raise V2Error(
                "FAILED_PRECONDITION",
                f"Endpoint {ep.id} still has {len(ep.deployment_ids)} deployment(s); delete them first",
            )
        del self._endpoints[ep.id]
        return {}

    # --- routes: deployments -------------------------------------------------------------------

    def _list_deployments(self, call: _Call) -> Any:
        ep = self._endpoint(call)
        items = [self._deployment_json(self._deployments[d]) for d in ep.deployment_ids]
        return _page(_order(_filter(items, call.query, self.project_slug), call.query), call.query)

    def _create_deployment(self, call: _Call) -> Any:
        ep = self._endpoint(call)
        body = call.object_body()
        name = self._bare_name(body.get("name"), "deployment name")
        low, high, extra = _validate_autoscaling(body.get("autoscaling"), None)
        timeout = _validate_timeout(body.get("inactiveTimeout", 0))
        model_path = str(body.get("model") or "")
        model = MODELS_BY_RESOURCE.get(model_path.split("/revisions/")[0])
        if model is None:
            raise V2Error("NOT_FOUND", f"Model {model_path or '(none)'} not found")
        config = CONFIGS_BY_ID.get(str(body.get("config") or "").rsplit("/", 1)[-1])
        if config is None:
            raise V2Error("NOT_FOUND", f"Config {body.get('config') or '(none)'} not found")
        if config.model is not model:
            raise V2Error("INVALID_ARGUMENT", f"Config {config.id} is not compatible with model {model.id}")
        if any(self._deployments[d].name == name for d in ep.deployment_ids):
            raise V2Error("ALREADY_EXISTS", f"deployment {name} already exists in endpoint {ep.id}")
        dep = SimDeployment(
            id=self._new_id("dep_"),
            endpoint_id=ep.id,
            name=name,
            model=f"{model_path.split('/revisions/')[0]}/revisions/{sim_id('rv_', model.id)}",
            config=config.resource,
            hardware=config.hardware,
            min_replicas=low,
            max_replicas=high,
            created_at=call.now,
            updated_at=call.now,
            inactive_timeout=timeout,
            max_concurrent=_int64(body.get("maxConcurrentRequestsPerReplica")),
            autoscaling_extra=extra,
        )
        if high > 0:
            dep.start(call.now)
        else:
            dep.enter(STOPPED, call.now)
        if call.query.get("validateOnly", call.query.get("validate_only", "")).lower() == "true":
            self._deployments[dep.id] = dep
            try:
                return self._deployment_json(dep)
            finally:
                del self._deployments[dep.id]
        self._deployments[dep.id] = dep
        ep.deployment_ids.append(dep.id)
        if self.auto_route_first and not ep.traffic_split:
            ep.traffic_split = [{"deploymentId": dep.id, "weight": 1}]
        return self._deployment_json(dep)

    def _get_deployment(self, call: _Call) -> Any:
        return self._deployment_json(self._deployment(call)[1])

    def _update_deployment(self, call: _Call) -> Any:
        _, dep = self._deployment(call)
        body = call.object_body()
        fields = call.mask(
            {"autoscaling", "inactiveTimeout", "maxConcurrentRequestsPerReplica", "name"}, body
        )
        self._check_etag(body.get("etag"), dep.etag, f"Deployment {dep.id}")
        bounds = None
        if any(f == "autoscaling" or f.startswith("autoscaling.") for f in fields):
            sub = {f.split(".", 1)[1] for f in fields if f.startswith("autoscaling.")}
            bounds = _validate_autoscaling(body.get("autoscaling") or {}, dep, only=sub or None)
        timeout = _validate_timeout(body.get("inactiveTimeout", 0)) if "inactiveTimeout" in fields else None
        name = self._bare_name(body.get("name"), "deployment name") if "name" in fields else None
        if name is not None and name != dep.name:
            siblings = self._endpoints[dep.endpoint_id].deployment_ids
            if any(self._deployments[d].name == name for d in siblings):
                raise V2Error("ALREADY_EXISTS", f"deployment {name} already exists")
            dep.name = name
        if timeout is not None:
            dep.inactive_timeout = timeout
        if "maxConcurrentRequestsPerReplica" in fields:
            dep.max_concurrent = _int64(body.get("maxConcurrentRequestsPerReplica"))
        if bounds is not None:
            low, high, extra = bounds
            dep.autoscaling_extra = extra
            if (low, high) != (dep.min_replicas, dep.max_replicas) or dep.state in (FAILED, STOPPED):
                dep.change_bounds(low, high, call.now)
        dep.etag, dep.updated_at = new_etag(), call.now
        return self._deployment_json(dep)

    def _delete_deployment(self, call: _Call) -> Any:
        ep, dep = self._deployment(call)
        self._check_etag(call.query.get("etag"), dep.etag, f"Deployment {dep.id}")
        stoppable = self.delete_when_max_zero and dep.max_replicas == 0
        if dep.state not in (STOPPED, FAILED) and not stoppable:
            raise V2Error(
                "FAILED_PRECONDITION",
                f"Deployment {dep.id} must be stopped before it can be deleted (it is {dep.state})",
            )
        ep.deployment_ids.remove(dep.id)
        ep.traffic_split = [e for e in ep.traffic_split if e["deploymentId"] != dep.id]
        del self._deployments[dep.id]
        return {}


class _Call:
    """One routed request: path parameters, query, body and the simulated time."""

    def __init__(self, method: str, params: dict[str, str], query: dict[str, str], body: Any, now: float):
        self.method, self.params, self.query, self.body, self.now = method, params, query, body, now

    def object_body(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise V2Error("INVALID_ARGUMENT", "Request body must be a JSON object")
        return self.body

    def mask(self, allowed: set[str], body: dict[str, Any]) -> set[str]:
        """The fields to update: `updateMask` (or `update_mask`) paths, else the populated fields."""
        raw = self.query.get("updateMask", self.query.get("update_mask", ""))
        if raw.strip():
            fields = {f.strip() for f in raw.split(",") if f.strip()}
            unknown = [f for f in fields if f.split(".", 1)[0] not in allowed]
            if unknown:
                raise V2Error(
                    "INVALID_ARGUMENT", f"invalid update mask path(s): {', '.join(sorted(unknown))}"
                )
            return fields
        fields = {k for k in allowed if body.get(k) not in (None, [], {}, "", 0)}
        if not fields:
            raise V2Error("INVALID_ARGUMENT", "no fields to update")
        return fields


def _validate_autoscaling(
    value: Any, current: SimDeployment | None, only: set[str] | None = None
) -> tuple[int, int, dict[str, Any]]:
    if not isinstance(value, dict):
        raise V2Error("INVALID_ARGUMENT", "autoscaling is required")
    extra = {k: v for k, v in value.items() if k not in ("minReplicas", "maxReplicas")}
    if current is not None:
        extra = {**current.autoscaling_extra, **extra}

    def bound(key: str, fallback: int | None) -> int | None:
        if key not in value or (only is not None and key not in only):
            return fallback
        number = value[key]
        if isinstance(number, str) and number.isdigit():
            number = int(number)
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise V2Error("INVALID_ARGUMENT", f"autoscaling.{key} must be a non-negative integer")
        return number

    low = bound("minReplicas", current.min_replicas if current else None)
    if only is not None and "minReplicas" in only and "minReplicas" not in value:
        low = 0  # a masked field left out is cleared
    if low is None:
        raise V2Error("INVALID_ARGUMENT", "autoscaling.minReplicas is required")
    high = bound("maxReplicas", current.max_replicas if current else low)
    if only is not None and "maxReplicas" in only and "maxReplicas" not in value:
        high = 0
    assert high is not None
    if high < low:
        raise V2Error(
            "INVALID_ARGUMENT", "autoscaling.maxReplicas must be greater than or equal to minReplicas"
        )
    if low == 0 and high > 0:
        raise V2Error(
            "INVALID_ARGUMENT",
            "autoscaling.minReplicas must be at least 1 while maxReplicas is above 0 (set both to 0 to stop)",
        )
    return low, high, extra


def _validate_timeout(value: Any) -> int:
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or not (value == 0 or 30 <= value <= 1440):
        raise V2Error(
            "INVALID_ARGUMENT", "inactiveTimeout must be 0 (disabled) or between 30 and 1440 minutes"
        )
    return value


def _validate_split(value: Any, ep: SimEndpoint) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise V2Error("INVALID_ARGUMENT", "trafficSplit must be a list")
    split = []
    for entry in value:
        dep_id = entry.get("deploymentId") if isinstance(entry, dict) else None
        weight = entry.get("weight", 0) if isinstance(entry, dict) else None
        if dep_id not in ep.deployment_ids:
            raise V2Error(
                "INVALID_ARGUMENT", f"trafficSplit names {dep_id!r}, which is not a deployment of {ep.id}"
            )
        if (
            not isinstance(weight, int | float)
            or isinstance(weight, bool)
            or weight < 0
            or not math.isfinite(weight)
        ):
            raise V2Error("INVALID_ARGUMENT", "trafficSplit weights must be finite and non-negative")
        split.append({"deploymentId": dep_id, "weight": weight})
    return split


def _int64(value: Any) -> str | None:
    """int64 fields travel as strings (proto3 JSON)."""
    if value is None:
        return None
    if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
        raise V2Error("INVALID_ARGUMENT", f"{value!r} is not an integer")
    return str(int(value))


def _filter(items: list[dict[str, Any]], query: dict[str, str], slug: str) -> list[dict[str, Any]]:
    """A subset of the AIP-160 filters (§4.9): `field op "value"` clauses joined by AND."""
    text = query.get("filter", "").strip()
    if not text:
        return items
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for clause in re.split(r"\s+AND\s+", text):
        match = _CLAUSE.match(clause)
        if not match or match[1] not in ("name", "state", "created_at", "updated_at", "model"):
            raise V2Error("INVALID_ARGUMENT", "invalid filter expression")
        tests.append(_clause(match[1], match[2], match[3], slug))
    return [item for item in items if all(test(item) for test in tests)]


def _clause(field: str, op: str, value: str, slug: str) -> Callable[[dict[str, Any]], bool]:
    key = {"created_at": "createdAt", "updated_at": "updatedAt", "state": "status"}.get(field, field)

    def read(item: dict[str, Any]) -> str:
        if field == "state":
            return str(item.get("status", {}).get("state", ""))
        if field == "name":  # bare or qualified
            return str(item.get("name", "")).removeprefix(f"{slug}/")
        if field == "model":
            return str(item.get("model", "")).split("/revisions/")[0]
        return str(item.get(key, ""))

    wanted = value.removeprefix(f"{slug}/") if field == "name" else value
    if "*" in wanted and op == "=":
        pattern = re.compile("^" + ".*".join(map(re.escape, wanted.split("*"))) + "$")
        return lambda item: bool(pattern.match(read(item)))
    compare: dict[str, Callable[[str, str], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        ":": lambda a, b: b in a,
    }
    return lambda item: compare[op](read(item), wanted)


def _order(items: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
    text = (query.get("orderBy") or query.get("order_by") or "created_at").strip().split()
    key = {"created_at": "createdAt", "updated_at": "updatedAt"}.get(text[0] if text else "")
    if key is None or (len(text) > 1 and text[1].lower() not in ("asc", "desc")) or len(text) > 2:
        raise V2Error("INVALID_ARGUMENT", "orderBy must be created_at or updated_at, optionally asc or desc")
    return sorted(
        items, key=lambda item: item.get(key, ""), reverse=len(text) > 1 and text[1].lower() == "desc"
    )


def _page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    """`{"data": [...], "next_cursor": ...}` with `limit` and an opaque `after` cursor."""
    try:
        limit = int(query.get("limit") or PAGE_DEFAULT)
        start = int(base64.urlsafe_b64decode(query["after"].encode()).decode()) if query.get("after") else 0
    except ValueError:
        raise V2Error("INVALID_ARGUMENT", "invalid limit or cursor") from None
    limit = max(1, min(limit, PAGE_MAX))
    end = start + limit
    cursor = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return {"data": items[start:end], "next_cursor": cursor}


_P = r"/v2/projects/(?P<p>[^/]+)"
_EP = _P + r"/endpoints/(?P<ep>[^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], Callable[[V2Simulator, _Call], Any]]] = [
    ("GET", re.compile(r"/v3/whoami"), V2Simulator._whoami_v3),
    ("GET", re.compile(r"/v1/whoami"), V2Simulator._whoami_v1),
    ("GET", re.compile(r"/v1/projects"), V2Simulator._projects),
    ("GET", re.compile(r"/v2/public/inference-instance-types"), V2Simulator._instance_types),
    ("GET", re.compile(r"/v2/public/inference-instance-types/(?P<id>[^/]+)"), V2Simulator._instance_type),
    ("GET", re.compile(r"/v2/supported-models"), V2Simulator._supported_models),
    ("GET", re.compile(r"/v2/supported-models/(?P<id>[^/]+)"), V2Simulator._supported_model),
    ("GET", re.compile(_P + r"/configs"), V2Simulator._configs),
    ("GET", re.compile(_P + r"/configs/(?P<id>[^/]+)"), V2Simulator._get_config),
    ("GET", re.compile(_P + r"/endpoints"), V2Simulator._list_endpoints),
    ("POST", re.compile(_P + r"/endpoints"), V2Simulator._create_endpoint),
    ("GET", re.compile(_EP), V2Simulator._get_endpoint),
    ("PATCH", re.compile(_EP), V2Simulator._update_endpoint),
    ("DELETE", re.compile(_EP), V2Simulator._delete_endpoint),
    ("GET", re.compile(_EP + r"/deployments"), V2Simulator._list_deployments),
    ("POST", re.compile(_EP + r"/deployments"), V2Simulator._create_deployment),
    ("GET", re.compile(_EP + r"/deployments/(?P<dep>[^/]+)"), V2Simulator._get_deployment),
    ("PATCH", re.compile(_EP + r"/deployments/(?P<dep>[^/]+)"), V2Simulator._update_deployment),
    ("DELETE", re.compile(_EP + r"/deployments/(?P<dep>[^/]+)"), V2Simulator._delete_deployment),
]
