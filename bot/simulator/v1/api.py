"""Together's v1 dedicated-endpoint API in memory (reference §3-§6, §9, §11): endpoints, hardware, models.

`V1Simulator.route` answers the v1 paths the core gives it; the caller holds the simulator's lock. States
are derived from the clock on every request (§9.1): PENDING → STARTING → STARTED, STOPPING → STOPPED, and
auto-stop after `inactive_timeout` minutes without traffic. Errors are Together's `{"error": {...}}` body.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from bot.simulator.catalog import (
    AVAILABILITY_ZONES,
    HARDWARE,
    HARDWARE_BY_ID,
    MODELS,
    MODELS_BY_ID,
    SERVERLESS_ENDPOINTS,
    fitting_hardware,
)
from bot.simulator.clock import Clock
from bot.simulator.v1.wire import (
    V1Endpoint,
    V1Error,
    V1Request,
    hardware_json,
    list_item_json,
    parse_bool,
    public_json,
    validate_autoscaling,
    validate_inactive_timeout,
)

PENDING, STARTING, STARTED, STOPPING, STOPPED, ERROR = (
    "PENDING",
    "STARTING",
    "STARTED",
    "STOPPING",
    "STOPPED",
    "ERROR",
)
STATES = frozenset({PENDING, STARTING, STARTED, STOPPING, STOPPED, ERROR, "FAILED"})
DEFAULT_DURATIONS: dict[str, float] = {PENDING: 60.0, STARTING: 180.0, STOPPING: 30.0}
DEFAULT_INACTIVE_TIMEOUT = 60  # minutes, when create omits it
AVAILABILITY_STATUSES = ("available", "insufficient", "unavailable")

V1_DISABLED = "endpoints_v1_create_access_disabled"
V1_DISABLED_MESSAGE = (
    "Creating or starting v1 dedicated endpoints is disabled. Use the v2 Dedicated Model Inference API "
    "(/v2/projects/{project_id}/endpoints) instead: "
    "https://docs.together.ai/docs/dedicated-endpoints/migrate-from-v1"
)
NO_CAPACITY_MESSAGE = "Hardware for endpoint not available now. please try again later"


class V1Simulator:
    """The v1 endpoints of one account, their hardware capacity and the models catalogue."""

    def __init__(
        self,
        clock: Clock,
        *,
        owner: str,
        v1_create_enabled: bool,
        durations: dict[str, float] | None,
        credit_exhausted: Callable[[], bool],
    ) -> None:
        self.clock = clock
        self.owner = owner
        self.v1_create_enabled = v1_create_enabled
        self._credit_exhausted = credit_exhausted  # the account's credit, shared with v2
        self._durations = dict(DEFAULT_DURATIONS)
        for key, seconds in (durations or {}).items():
            if key.upper() not in DEFAULT_DURATIONS:
                raise ValueError(f"unknown duration {key!r}; use {sorted(DEFAULT_DURATIONS)}")
            self._durations[key.upper()] = float(seconds)
        self._endpoints: dict[str, V1Endpoint] = {}
        self._availability: dict[str, str] = {}
        self._next_outcome: tuple[str, str] | None = None

    # --- test controls (the caller holds the simulator's lock) --------------------------------

    @property
    def store(self) -> dict[str, V1Endpoint]:
        """The endpoints by id, as kept (tests change one under the simulator's lock)."""
        return self._endpoints

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every endpoint as GET shows it, plus the settings it does not return, by id."""
        now = self.clock.now()
        result = {}
        for ep in self._endpoints.values():
            self._settle(ep, now)
            result[ep.id] = {
                **public_json(ep),
                "inactive_timeout": ep.inactive_timeout,
                "availability_zone": ep.availability_zone,
                "disable_prompt_cache": ep.disable_prompt_cache,
                "disable_speculative_decoding": ep.disable_speculative_decoding,
            }
        return result

    def set_availability(self, hardware_id: str, status: str) -> None:
        """Capacity for one hardware id: available (default), insufficient or unavailable."""
        if hardware_id not in HARDWARE_BY_ID:
            raise KeyError(hardware_id)
        if status not in AVAILABILITY_STATUSES:
            raise ValueError(f"status must be one of {AVAILABILITY_STATUSES}")
        now = self.clock.now()
        for ep in self._endpoints.values():  # settle under the old capacity first
            self._settle(ep, now)
        was = self._availability.get(hardware_id, "available")
        self._availability[hardware_id] = status
        if was == "unavailable" and status != "unavailable":
            # Queued endpoints get their hardware now and start provisioning from here.
            for ep in self._endpoints.values():
                if ep.hardware == hardware_id and ep.state == PENDING:
                    ep.since = now

    def set_next_outcome(self, outcome: str | None = ERROR, *, at: str = STARTED) -> None:
        """The next created endpoint enters `outcome` (ERROR or FAILED) instead of state `at`."""
        if outcome is None:
            self._next_outcome = None
            return
        if outcome not in (ERROR, "FAILED"):
            raise ValueError("outcome must be ERROR or FAILED")
        if at not in (PENDING, STARTING, STARTED):
            raise ValueError("at must be PENDING, STARTING or STARTED")
        self._next_outcome = (outcome, at)

    def delete_outside(self, endpoint_id: str) -> bool:
        """Delete an endpoint as the console would; False if v1 does not know it."""
        return self._endpoints.pop(endpoint_id, None) is not None

    def force_state(self, endpoint_id: str, state: str) -> None:
        """Change a state from outside the bot (as the console would); the clock runs on from here."""
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        ep = self._endpoints[endpoint_id]
        now = self.clock.now()
        self._enter(ep, state, now)

    # --- entry points --------------------------------------------------------------------------

    def route(self, request: V1Request) -> tuple[int, Any]:
        for method, pattern, handler in _ROUTES:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                request.params = {k: unquote(v) for k, v in match.groupdict().items()}
                return handler(self, request)
        raise V1Error(
            404, f"Unknown route: {request.method} {request.path}", type="not_found", code="not_found"
        )

    def serve(self, target: str, now: float) -> bool:
        """A chat completion for the endpoint named or numbered `target`: False when v1 has no such
        endpoint; V1Error when it is not running."""
        ep = next((e for e in self._endpoints.values() if target in (e.name, e.id)), None)
        if ep is None:
            return False
        self._settle(ep, now)
        if ep.state != STARTED:
            raise V1Error(
                400,
                f"Endpoint {ep.name} is not running (state {ep.state}). Start it and try again.",
                code="endpoint_not_running",
            )
        ep.last_activity = now
        return True

    # --- state machine (§9.1) ------------------------------------------------------------------

    def _enter(self, ep: V1Endpoint, state: str, at: float) -> None:
        ep.state, ep.since = state, at
        if state == STARTED:
            ep.last_activity = at
        if state in (ERROR, "FAILED"):
            ep.fail_at = None

    def _outcome(self, ep: V1Endpoint, state: str) -> str:
        return ep.fail_as if ep.fail_at == state else state

    def _next_transition(self, ep: V1Endpoint) -> tuple[float, str] | None:
        if ep.state == PENDING:
            if self._availability.get(ep.hardware) == "unavailable":
                return None  # queued until capacity returns
            return ep.since + self._durations[PENDING], self._outcome(ep, STARTING)
        if ep.state == STARTING:
            return ep.since + self._durations[STARTING], self._outcome(ep, STARTED)
        if ep.state == STOPPING:
            return ep.since + self._durations[STOPPING], STOPPED
        if ep.state == STARTED and ep.inactive_timeout > 0:
            return max(ep.since, ep.last_activity) + ep.inactive_timeout * 60, STOPPING
        return None

    def _settle(self, ep: V1Endpoint, now: float) -> None:
        """Apply every transition whose time has come, each at its own moment."""
        while (step := self._next_transition(ep)) is not None and step[0] <= now:
            self._enter(ep, step[1], step[0])

    def _start(self, ep: V1Endpoint, now: float) -> None:
        """Begin provisioning (create or restart)."""
        self._enter(ep, PENDING, now)
        if ep.fail_at == PENDING:
            self._enter(ep, ep.fail_as, now)

    def _find(self, request: V1Request) -> V1Endpoint:
        endpoint_id = request.params["id"]
        ep = self._endpoints.get(endpoint_id)
        if ep is None:
            raise V1Error(404, f"Endpoint {endpoint_id} not found", type="not_found", code="not_found")
        self._settle(ep, request.now)
        return ep

    # --- routes --------------------------------------------------------------------------------

    def _list_endpoints(self, request: V1Request) -> tuple[int, Any]:
        query = request.query
        type_filter = query.get("type")
        if type_filter not in (None, "dedicated", "serverless"):
            raise V1Error(400, "type must be one of: dedicated, serverless", param="type")
        usage_type = query.get("usage_type")
        if usage_type not in (None, "on-demand", "reserved"):
            raise V1Error(400, "usage_type must be one of: on-demand, reserved", param="usage_type")
        mine = parse_bool(query["mine"], "mine") if "mine" in query else False
        items: list[dict[str, Any]] = []
        for ep in self._endpoints.values():
            self._settle(ep, request.now)
            if ep.owner == self.owner or not mine:
                items.append(list_item_json(ep))
        if usage_type is not None and usage_type != "on-demand":
            items = []  # every simulated dedicated endpoint is on-demand
        if not mine and usage_type is None:
            items.extend(dict(entry) for entry in SERVERLESS_ENDPOINTS)
        if type_filter is not None:
            items = [item for item in items if item["type"] == type_filter]
        return 200, {"object": "list", "data": items}

    def _create_endpoint(self, request: V1Request) -> tuple[int, Any]:
        if not self.v1_create_enabled:
            raise V1Error(403, V1_DISABLED_MESSAGE, type=V1_DISABLED, code=V1_DISABLED)
        body = request.object_body()
        model_id = body.get("model")
        if not isinstance(model_id, str) or not model_id:
            raise V1Error(400, "Model is required", param="model")
        hardware_id = body.get("hardware")
        if not isinstance(hardware_id, str) or not hardware_id:
            raise V1Error(400, "Hardware is required", param="hardware")
        if "autoscaling" not in body:
            raise V1Error(400, "autoscaling is required", param="autoscaling")
        min_replicas, max_replicas = validate_autoscaling(body["autoscaling"])
        state = body.get("state", STARTED)
        if state not in (STARTED, STOPPED):
            raise V1Error(400, "state must be one of: STARTED, STOPPED", param="state")
        inactive_timeout = validate_inactive_timeout(body)
        display_name = body.get("display_name")
        if display_name is not None and not isinstance(display_name, str):
            raise V1Error(400, "display_name must be a string", param="display_name")
        flags = {}
        for flag in ("disable_prompt_cache", "disable_speculative_decoding"):
            value = body.get(flag, False)
            if not isinstance(value, bool):
                raise V1Error(400, f"{flag} must be a boolean", param=flag)
            flags[flag] = value
        zone = body.get("availability_zone") or request.query.get("availability_zone")
        if zone is not None and zone not in AVAILABILITY_ZONES:
            raise V1Error(400, f"invalid availability zone: {zone}", param="availability_zone")

        model = MODELS_BY_ID.get(model_id)
        if model is None or not model.dedicated:
            raise V1Error(
                404,
                f"Model not found: model '{model_id}' does not exist or cannot run on a dedicated endpoint",
                code="model_not_found",
                param="model",
            )
        hardware = HARDWARE_BY_ID.get(hardware_id)
        if hardware is None:
            raise V1Error(
                400,
                f"invalid hardware provided: '{hardware_id}'. Check the hardware API "
                "(GET /v1/hardware?model=) for the configurations this model supports",
                param="hardware",
            )
        if not model.fits(hardware):
            raise V1Error(
                404,
                f"Hardware {hardware_id} is not available for this model ({model_id}). "
                "Check the hardware API for the configurations this model supports",
                param="hardware",
            )
        if self._availability.get(hardware_id) == "unavailable":
            raise V1Error(400, NO_CAPACITY_MESSAGE, param="hardware")
        if self._credit_exhausted():
            raise V1Error(402, "Credit limit exceeded", type="credit_limit", code="credit_limit")

        name = f"{self.owner}/{model_id}-{uuid.uuid4().hex[:8]}"
        ep = V1Endpoint(
            id=f"endpoint-{uuid.uuid4()}",
            name=name,
            display_name=display_name or name.split("/", 1)[1],
            model=model_id,
            hardware=hardware_id,
            owner=self.owner,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            created_at=request.now,
            inactive_timeout=DEFAULT_INACTIVE_TIMEOUT if inactive_timeout is None else inactive_timeout,
            availability_zone=zone,
            disable_prompt_cache=flags["disable_prompt_cache"],
            disable_speculative_decoding=flags["disable_speculative_decoding"],
            state=STOPPED,
            since=request.now,
            last_activity=request.now,
        )
        if self._next_outcome is not None:
            ep.fail_as, ep.fail_at = self._next_outcome
            self._next_outcome = None
        if state == STARTED:
            self._start(ep, request.now)
        self._endpoints[ep.id] = ep
        return 200, public_json(ep)

    def _get_endpoint(self, request: V1Request) -> tuple[int, Any]:
        return 200, public_json(self._find(request))

    def _update_endpoint(self, request: V1Request) -> tuple[int, Any]:
        ep = self._find(request)
        body = request.object_body()
        # Validate everything before changing anything.
        display_name = body.get("display_name")
        if display_name is not None and not isinstance(display_name, str):
            raise V1Error(400, "display_name must be a string", param="display_name")
        bounds = validate_autoscaling(body["autoscaling"]) if "autoscaling" in body else None
        timeout = validate_inactive_timeout(body)
        state = body.get("state")
        if state is not None and state not in (STARTED, STOPPED):
            raise V1Error(400, "state must be one of: STARTED, STOPPED", param="state")
        if state == STARTED:
            self._check_can_start(ep)

        if display_name is not None:
            ep.display_name = display_name
        if bounds is not None:
            ep.min_replicas, ep.max_replicas = bounds
        if timeout is not None:
            ep.inactive_timeout = timeout
        if state == STARTED and ep.state in (STOPPED, ERROR, "FAILED"):
            self._start(ep, request.now)
        elif state == STOPPED and ep.state in (PENDING, STARTING, STARTED):
            self._enter(ep, STOPPING, request.now)
        elif state == STOPPED and ep.state in (ERROR, "FAILED"):
            self._enter(ep, STOPPED, request.now)
        return 200, public_json(ep)

    def _check_can_start(self, ep: V1Endpoint) -> None:
        if ep.state in (PENDING, STARTING):
            raise V1Error(409, f"endpoint {ep.name} is already starting", code="conflict")
        if ep.state == STOPPING:
            raise V1Error(
                409, f"endpoint {ep.name} is stopping; start it once it is STOPPED", code="conflict"
            )
        if ep.state == STARTED:
            return
        if not self.v1_create_enabled:
            raise V1Error(403, V1_DISABLED_MESSAGE, type=V1_DISABLED, code=V1_DISABLED)
        if self._availability.get(ep.hardware) == "unavailable":
            raise V1Error(400, NO_CAPACITY_MESSAGE, param="hardware")
        if self._credit_exhausted():
            raise V1Error(402, "Credit limit exceeded", type="credit_limit", code="credit_limit")

    def _delete_endpoint(self, request: V1Request) -> tuple[int, Any]:
        ep = self._find(request)
        del self._endpoints[ep.id]
        return 204, None

    def _list_hardware(self, request: V1Request) -> tuple[int, Any]:
        model_id = request.query.get("model")
        if not model_id:
            return 200, {"object": "list", "data": [hardware_json(hw, None) for hw in HARDWARE]}
        model = MODELS_BY_ID.get(model_id)
        fitting = fitting_hardware(model) if model is not None else []
        if not fitting:
            raise V1Error(
                404, f"No GPU configurations found for model {model_id}", type="not_found", param="model"
            )
        items = [hardware_json(hw, self._availability.get(hw.id, "available")) for hw in fitting]
        return 200, {"object": "list", "data": items}

    def _list_zones(self, request: V1Request) -> tuple[int, Any]:
        return 200, {"avzones": list(AVAILABILITY_ZONES)}

    def _list_models(self, request: V1Request) -> tuple[int, Any]:
        dedicated_only = "dedicated" in request.query and parse_bool(request.query["dedicated"], "dedicated")
        created = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
        models = [m for m in MODELS if m.dedicated or not dedicated_only]
        return 200, [
            {
                "id": m.id,
                "object": "model",
                "created": created,
                "type": m.type,
                "display_name": m.id.split("/", 1)[-1],
                "organization": m.organization,
                "context_length": m.context_length,
                "pricing": {"hourly": 0, "input": 0.2, "output": 0.2, "base": 0, "finetune": 0},
            }
            for m in models
        ]


_ROUTES: list[tuple[str, re.Pattern[str], Callable[[V1Simulator, V1Request], tuple[int, Any]]]] = [
    ("GET", re.compile(r"/v1/endpoints"), V1Simulator._list_endpoints),
    ("POST", re.compile(r"/v1/endpoints"), V1Simulator._create_endpoint),
    ("GET", re.compile(r"/v1/endpoints/(?P<id>[^/]+)"), V1Simulator._get_endpoint),
    ("PATCH", re.compile(r"/v1/endpoints/(?P<id>[^/]+)"), V1Simulator._update_endpoint),
    ("DELETE", re.compile(r"/v1/endpoints/(?P<id>[^/]+)"), V1Simulator._delete_endpoint),
    ("GET", re.compile(r"/v1/hardware"), V1Simulator._list_hardware),
    ("GET", re.compile(r"/v1/clusters/availability-zones"), V1Simulator._list_zones),
    ("GET", re.compile(r"/v1/models"), V1Simulator._list_models),
]
