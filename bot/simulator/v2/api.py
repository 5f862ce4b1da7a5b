"""The v2 half of the Together simulator: project-scoped endpoints → deployments → configs (v2 reference §11).

`V2Simulator.route` answers `/v2/...`, `/v3/whoami`, `/v1/whoami` and `/v1/projects`; `TogetherSimulator`
(`core`) sends those paths here, so one process (and one clock, key, fault list and request log) serves both APIs.
Bodies are camelCase with prefixed enums and int64 fields as strings; errors use the RPC shape
`{"code", "message", "details"}` (switchable to Together's envelope with `error_shape="together"`).
Test controls: `set_headroom`, `force_deployment_state`, `autoscale`, `key_type`, `auto_route_first`,
`delete_when_max_zero`, `auto_stop`, `credit_exhausted` (402 to whatever would start replicas: a deployment
created with replicas, or one started from rest; the endpoint itself costs nothing and is still created).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from bot.simulator.clock import Clock
from bot.simulator.v2 import public
from bot.simulator.v2.catalog import (
    CONFIGS_BY_ID,
    INSTANCE_TYPES_BY_ID,
    MODELS_BY_RESOURCE,
    PUBLIC_PROJECTS,
    sim_id,
)
from bot.simulator.v2.events import booted, endpoint_events, filtered_page
from bot.simulator.v2.state import (
    DEFAULT_V2_DURATIONS,
    DEGRADED,
    FAILED,
    PROVISIONING,
    SCALING,
    STOPPED,
    STOPPING,
    V2_STATES,
    SimDeployment,
    SimEndpoint,
    new_etag,
)
from bot.simulator.v2.views import deployment_json, endpoint_json
from bot.simulator.v2.wire import (
    GRPC,
    NAME_RULE,
    Call,
    V2Error,
    code_for_status,
    credit_exhausted,
    filter_items,
    int64,
    order_items,
    page,
    validate_autoscaling,
    validate_split,
    validate_timeout,
)


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
        self.credit_exhausted = False  # refuse (402) whatever would start billed replicas
        self.durations = dict(DEFAULT_V2_DURATIONS)
        for key, seconds in (durations or {}).items():
            if key.upper() not in DEFAULT_V2_DURATIONS:
                raise ValueError(f"unknown v2 duration {key!r}; use {sorted(DEFAULT_V2_DURATIONS)}")
            self.durations[key.upper()] = float(seconds)
        self.headroom: dict[str, int | None] = {}  # by instance type (set_headroom)
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
        was = self.headroom.get(instance_type)
        self.headroom[instance_type] = value
        if was == 0 and value != 0:
            for dep in self._deployments.values():
                if dep.hardware == instance_type and dep.state == DEGRADED:
                    dep.enter(PROVISIONING, now)

    def force_deployment_state(self, deployment_id: str, state: str, message: str | None = None) -> None:
        if state not in V2_STATES:
            raise ValueError(f"unknown state {state!r}")
        dep = self._deployments[deployment_id]
        if state in (PROVISIONING, SCALING) and dep.target == 0:
            # Started from outside (the console): replicas come up, else READY would serve with none.
            dep.target = max(1, dep.min_replicas)
        dep.enter(state, self.clock.now(), message)

    def autoscale(self, deployment_id: str, replicas: int) -> None:
        """The autoscaler under load: `replicas` ready (within the bounds), the state unchanged."""
        now = self.clock.now()
        self._settle_all(now)
        dep = self._deployments[deployment_id]
        if not dep.min_replicas <= replicas <= dep.max_replicas:
            raise ValueError(f"{replicas} is outside {dep.min_replicas}-{dep.max_replicas}")
        dep.ready = dep.target = replicas
        dep.updated_at = now

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
                    shared = handler in (public.get_config, public.get_model)
                    self._check_project(params["p"], allow_public=shared)
                return 200, handler(self, Call(method, params, query, body, now))
        raise V2Error("NOT_FOUND", f"Unknown route: {method} {path}")

    def error_body(self, status: int, message: str, code: str | None = None) -> bytes:
        name = (
            code
            if code in GRPC
            else code_for_status(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
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
        return self.headroom.get(hardware) != 0

    def _settle(self, dep: SimDeployment, now: float) -> None:
        dep.settle(now, self.durations, self._has_capacity(dep.hardware), self.auto_stop)
        serving = booted(dep, now, self.durations[SCALING])
        if serving is not None:  # a cold start: replicas serve one by one
            dep.ready = serving

    def _settle_all(self, now: float) -> None:
        for dep in self._deployments.values():
            self._settle(dep, now)

    def _new_id(self, prefix: str) -> str:
        self._serial += 1
        return sim_id(prefix, f"{self.project_id}|{prefix}|{self._serial}|{new_etag()}")

    def _endpoint(self, call: Call) -> SimEndpoint:
        ep = self._endpoints.get(call.params["ep"])
        if ep is None:
            raise V2Error("NOT_FOUND", f"Endpoint {call.params['ep']} not found")
        for dep_id in ep.deployment_ids:
            self._settle(self._deployments[dep_id], call.now)
        return ep

    def _deployment(self, call: Call) -> tuple[SimEndpoint, SimDeployment]:
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
        if not NAME_RULE.match(bare):
            raise V2Error(
                "INVALID_ARGUMENT",
                f"{what} {bare!r} is invalid: use letters, digits, '.', '_' and '-' (starting and ending with a letter "
                "or digit), at most 63 characters",
            )
        return bare

    @staticmethod
    def _check_etag(given: Any, current: str, what: str) -> None:
        if given not in (None, "") and given != current:
            raise V2Error(
                "ABORTED", f"{what} has been modified: etag {given!r} does not match; read it again"
            )

    def _endpoint_json(self, ep: SimEndpoint) -> dict[str, Any]:
        return endpoint_json(ep, self._deployments, self.project_slug, self.project_id)

    def _deployment_json(self, dep: SimDeployment) -> dict[str, Any]:
        ep = self._endpoints[dep.endpoint_id]
        return deployment_json(dep, ep, self._deployments, self.project_slug, self.project_id)

    # --- routes: endpoints ---------------------------------------------------------------------

    def _list_endpoints(self, call: Call) -> Any:
        self._settle_all(call.now)
        items = [self._endpoint_json(ep) for ep in self._endpoints.values()]
        return page(order_items(filter_items(items, call.query, self.project_slug), call.query), call.query)

    def _create_endpoint(self, call: Call) -> Any:
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

    def _get_endpoint(self, call: Call) -> Any:
        return self._endpoint_json(self._endpoint(call))

    def _update_endpoint(self, call: Call) -> Any:
        ep = self._endpoint(call)
        body = call.object_body()
        fields = call.mask({"trafficSplit", "visibility", "name"}, body)
        self._check_etag(body.get("etag"), ep.etag, f"Endpoint {ep.id}")
        if "name" in fields and self._bare_name(body.get("name"), "name") != ep.bare:
            raise V2Error("INVALID_ARGUMENT", "An endpoint's name cannot be changed")
        split = ep.traffic_split
        if "trafficSplit" in fields:
            split = validate_split(body.get("trafficSplit") or [], ep)
        if "visibility" in fields:
            if body.get("visibility") not in ("VISIBILITY_PRIVATE", "VISIBILITY_INTERNAL"):
                raise V2Error("INVALID_ARGUMENT", f"invalid visibility {body.get('visibility')!r}")
            ep.visibility = body["visibility"]
        ep.traffic_split = split
        ep.etag, ep.updated_at = new_etag(), call.now
        return self._endpoint_json(ep)

    def delete_outside(self, endpoint_id: str) -> None:
        """The console's delete: the endpoint and its deployments go at once (KeyError if unknown)."""
        ep = self._endpoints.pop(endpoint_id)
        for deployment_id in ep.deployment_ids:
            self._deployments.pop(deployment_id, None)

    def _delete_endpoint(self, call: Call) -> Any:
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

    def _list_deployments(self, call: Call) -> Any:
        ep = self._endpoint(call)
        items = [self._deployment_json(self._deployments[d]) for d in ep.deployment_ids]
        return page(order_items(filter_items(items, call.query, self.project_slug), call.query), call.query)

    def _create_deployment(self, call: Call) -> Any:
        ep = self._endpoint(call)
        body = call.object_body()
        name = self._bare_name(body.get("name"), "deployment name")
        low, high, extra = validate_autoscaling(body.get("autoscaling"), None)
        timeout = validate_timeout(body.get("inactiveTimeout", 0))
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
        if high > 0 and self.credit_exhausted:
            raise credit_exhausted()
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
            max_concurrent=int64(body.get("maxConcurrentRequestsPerReplica")),
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

    def _get_deployment(self, call: Call) -> Any:
        return self._deployment_json(self._deployment(call)[1])

    def _update_deployment(self, call: Call) -> Any:
        _, dep = self._deployment(call)
        body = call.object_body()
        fields = call.mask(
            {"autoscaling", "inactiveTimeout", "maxConcurrentRequestsPerReplica", "name"}, body
        )
        self._check_etag(body.get("etag"), dep.etag, f"Deployment {dep.id}")
        bounds = None
        if any(f == "autoscaling" or f.startswith("autoscaling.") for f in fields):
            sub = {f.split(".", 1)[1] for f in fields if f.startswith("autoscaling.")}
            bounds = validate_autoscaling(body.get("autoscaling") or {}, dep, only=sub or None)
        timeout = validate_timeout(body.get("inactiveTimeout", 0)) if "inactiveTimeout" in fields else None
        name = self._bare_name(body.get("name"), "deployment name") if "name" in fields else None
        starts = bounds is not None and bounds[1] > 0 and dep.state in (STOPPED, STOPPING, FAILED)
        if starts and self.credit_exhausted:  # a start from rest; a running deployment may still be scaled
            raise credit_exhausted()
        if name is not None and name != dep.name:
            siblings = self._endpoints[dep.endpoint_id].deployment_ids
            if any(self._deployments[d].name == name for d in siblings):
                raise V2Error("ALREADY_EXISTS", f"deployment {name} already exists")
            dep.name = name
        if timeout is not None:
            dep.inactive_timeout = timeout
        if "maxConcurrentRequestsPerReplica" in fields:
            dep.max_concurrent = int64(body.get("maxConcurrentRequestsPerReplica"))
        if bounds is not None:
            low, high, extra = bounds
            dep.autoscaling_extra = extra
            if (low, high) != (dep.min_replicas, dep.max_replicas) or dep.state in (FAILED, STOPPED):
                old = dep.target
                dep.change_bounds(low, high, call.now)
                dep.log.append(
                    {
                        "at": call.now,
                        "type": "deployment.scaled",
                        "message": f"Deployment scaled from {old} to {dep.target} replicas",
                        "extra": {"oldReplicas": old, "newReplicas": dep.target},
                    }
                )
        dep.etag, dep.updated_at = new_etag(), call.now
        dep.log.append(
            {
                "at": call.now,
                "type": "deployment.updated",
                "message": f"Deployment {dep.name} updated",
                "extra": {"paths": sorted(fields)},
            }
        )
        return self._deployment_json(dep)

    def _delete_deployment(self, call: Call) -> Any:
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

    # --- routes: events, models, experiments (what Together's `tg` CLI reads) ------------------

    def _list_events(self, call: Call) -> Any:
        ep = self._endpoint(call)
        self._settle_all(call.now)
        deps = [self._deployments[d] for d in ep.deployment_ids]
        events = endpoint_events(ep, deps, self.project_slug, call.now, self.durations[SCALING])
        return filtered_page(events, call.query)

    def _no_experiments(self, call: Call) -> Any:
        """A/B and shadow experiments are not simulated: every endpoint has none (an empty list)."""
        self._endpoint(call)
        return page([], call.query)


_P = r"/v2/projects/(?P<p>[^/]+)"
_EP = _P + r"/endpoints/(?P<ep>[^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], Callable[[V2Simulator, Call], Any]]] = [
    ("GET", re.compile(r"/v3/whoami"), public.whoami_v3),
    ("GET", re.compile(r"/v1/whoami"), public.whoami_v1),
    ("GET", re.compile(r"/v1/projects"), public.projects),
    ("GET", re.compile(r"/v2/public/inference-instance-types"), public.instance_types),
    ("GET", re.compile(r"/v2/public/inference-instance-types/(?P<id>[^/]+)"), public.instance_type),
    ("GET", re.compile(r"/v2/supported-models"), public.supported_models),
    ("GET", re.compile(r"/v2/supported-models/(?P<id>[^/]+)"), public.supported_model),
    ("GET", re.compile(_P + r"/configs"), public.configs),
    ("GET", re.compile(_P + r"/configs/(?P<id>[^/]+)"), public.get_config),
    ("GET", re.compile(_P + r"/endpoints"), V2Simulator._list_endpoints),
    ("POST", re.compile(_P + r"/endpoints"), V2Simulator._create_endpoint),
    ("GET", re.compile(_EP), V2Simulator._get_endpoint),
    ("PATCH", re.compile(_EP), V2Simulator._update_endpoint),
    ("DELETE", re.compile(_EP), V2Simulator._delete_endpoint),
    ("GET", re.compile(_EP + r"/events"), V2Simulator._list_events),
    ("GET", re.compile(_EP + r"/abExperiments"), V2Simulator._no_experiments),
    ("GET", re.compile(_EP + r"/shadowExperiments"), V2Simulator._no_experiments),
    ("GET", re.compile(_P + r"/models/(?P<ml>[^/]+)"), public.get_model),
    ("GET", re.compile(_EP + r"/deployments"), V2Simulator._list_deployments),
    ("POST", re.compile(_EP + r"/deployments"), V2Simulator._create_deployment),
    ("GET", re.compile(_EP + r"/deployments/(?P<dep>[^/]+)"), V2Simulator._get_deployment),
    ("PATCH", re.compile(_EP + r"/deployments/(?P<dep>[^/]+)"), V2Simulator._update_deployment),
    ("DELETE", re.compile(_EP + r"/deployments/(?P<dep>[^/]+)"), V2Simulator._delete_deployment),
]
