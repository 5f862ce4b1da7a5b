"""An offline stand-in for Together's dedicated-endpoint APIs: v1 (reference §3-§6, §9, §11) and v2.

`TogetherSimulator` is the core: `handle(method, path, query, headers, body)` answers one request. Paths
under `/v2/`, `/v3/whoami`, `/v1/whoami` and `/v1/projects` go to its `V2Simulator` (`v2_simulator`), which
shares the clock, the key, the faults and the request log.
Endpoint states are derived lazily from a `Clock` on every request, so no background thread runs.
`SimulatorServer` serves a simulator over real HTTP; `SimulatorTransport` plugs it into httpx directly.
Test controls (`inject`, `chaos`, `set_availability`, `force_state`, ...) are plain thread-safe methods.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from bot.together.sim_catalog import (
    AVAILABILITY_ZONES,
    DEDICATED_MODEL_IDS,
    HARDWARE,
    HARDWARE_BY_ID,
    HARDWARE_IDS,
    HARDWARE_UPDATED_AT,
    MODELS,
    MODELS_BY_ID,
    PER_GPU_CENTS_PER_MINUTE,
    SERVERLESS_ENDPOINTS,
    SimHardware,
    fitting_hardware,
)
from bot.together.sim_inference import SSE_HEADERS, Completion, InferenceSwitches, check_request
from bot.together.v2_sim_catalog import sim_id
from bot.together.v2_simulator import InferenceRefused, V2Error, V2Simulator, handles

__all__ = [
    "AVAILABILITY_ZONES",
    "DEDICATED_MODEL_IDS",
    "DEFAULT_DURATIONS",
    "HARDWARE",
    "HARDWARE_IDS",
    "MODELS",
    "PER_GPU_CENTS_PER_MINUTE",
    "Clock",
    "ManualClock",
    "RecordedRequest",
    "ScaledClock",
    "SimulatorServer",
    "SimulatorTransport",
    "TogetherSimulator",
]

log = logging.getLogger(__name__)

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
REQUEST_LOG_SIZE = 10_000
DEFAULT_PROJECT_ID = sim_id("proj_", "simulated-project")

INVALID_KEY_MESSAGE = (
    "Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys."
)
V1_DISABLED = "endpoints_v1_create_access_disabled"
V1_DISABLED_MESSAGE = (
    "Creating or starting v1 dedicated endpoints is disabled. Use the v2 Dedicated Model Inference API "
    "(/v2/projects/{project_id}/endpoints) instead: "
    "https://docs.together.ai/docs/dedicated-endpoints/migrate-from-v1"
)
NO_CAPACITY_MESSAGE = "Hardware for endpoint not available now. please try again later"

_FAULT_BODIES: dict[int, tuple[str, str]] = {
    429: ("Rate limit exceeded. Please slow down and try again later.", "rate_limit_exceeded"),
    500: ("Internal server error", "server_error"),
    502: ("Bad gateway", "server_error"),
    503: ("The server is overloaded or not ready yet.", "service_unavailable"),
    504: ("Gateway timeout", "server_error"),
}

Response = tuple[int, dict[str, str], bytes]
_JSON = {"Content-Type": "application/json"}


# --- clocks ------------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, in simulated time."""
        ...


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_777_888_000.0) -> None:  # 2026-05-04
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class ScaledClock:
    """Real time multiplied by `speed`: at speed 60 a 3-minute STARTING lasts 3 real seconds."""

    def __init__(self, speed: float = 1.0, *, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = speed
        self._start = time.time() if start is None else start
        self._t0 = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._t0) * self._speed


# --- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the simulator received it (the Authorization header is not kept)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int
    retry_after: float | None
    after_commit: bool
    delay: float


@dataclass
class _Endpoint:
    id: str
    name: str
    display_name: str
    model: str
    hardware: str
    owner: str
    min_replicas: int
    max_replicas: int
    created_at: float
    inactive_timeout: int  # minutes; 0 = no auto-stop
    availability_zone: str | None
    disable_prompt_cache: bool
    disable_speculative_decoding: bool
    state: str
    since: float  # when `state` was entered
    last_activity: float
    fail_at: str | None = None  # enter `fail_as` instead of this state, once
    fail_as: str = ERROR


class _ApiError(Exception):
    """Raised inside a route; becomes Together's `{"error": {...}}` body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    body_is_json: bool
    now: float
    params: dict[str, str]

    def object_body(self) -> dict[str, Any]:
        if not self.body_is_json or not isinstance(self.body, dict):
            raise _ApiError(400, "Request body must be a JSON object")
        return self.body


def _rfc3339(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _error_payload(message: str, type_: str, code: str | None, param: str | None) -> bytes:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return json.dumps(body).encode()


def _parse_bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise _ApiError(400, f"{name} must be true or false", param=name)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- the core ----------------------------------------------------------------------------------

_Handler = Callable[["TogetherSimulator", _Request], tuple[int, Any]]


class TogetherSimulator:
    """Together's v1 dedicated-endpoint API, in memory. Thread-safe: one lock guards all state."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        api_key: str | None = None,
        owner: str = "simuser",
        v1_create_enabled: bool = True,
        durations: dict[str, float] | None = None,
        project_id: str = DEFAULT_PROJECT_ID,
        v2_durations: dict[str, float] | None = None,
    ) -> None:
        self.clock: Clock = clock or ScaledClock(1.0)
        self.owner = owner
        self.v1_create_enabled = v1_create_enabled
        self._api_key = api_key
        self._durations = dict(DEFAULT_DURATIONS)
        for key, seconds in (durations or {}).items():
            if key.upper() not in DEFAULT_DURATIONS:
                raise ValueError(f"unknown duration {key!r}; use {sorted(DEFAULT_DURATIONS)}")
            self._durations[key.upper()] = float(seconds)
        self._lock = threading.RLock()
        self._endpoints: dict[str, _Endpoint] = {}
        self._availability: dict[str, str] = {}
        # Bounded so that a long-running `bot simulator` does not grow without limit.
        self._requests: deque[RecordedRequest] = deque(maxlen=REQUEST_LOG_SIZE)
        self._faults: list[_Fault] = []
        self._chaos_rate = 0.0
        self._chaos_statuses: tuple[int, ...] = ()
        self._chaos_random = random.Random()
        self._next_outcome: tuple[str, str] | None = None
        self._latency: dict[tuple[str, str], tuple[re.Pattern[str], float]] = {}
        self.inference = InferenceSwitches()  # a slow or failing first token (configure_inference)
        # The v2 API of the same account: its project's slug is the v1 owner name.
        self.v2 = V2Simulator(self.clock, project_id=project_id, project_slug=owner, durations=v2_durations)

    # --- test controls -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received so far (the last REQUEST_LOG_SIZE), oldest first; a copy."""
        with self._lock:
            return list(self._requests)

    @property
    def endpoints(self) -> dict[str, dict[str, Any]]:
        """The store: id → the endpoint as GET shows it, plus the settings it does not return."""
        with self._lock:
            now = self.clock.now()
            result = {}
            for ep in self._endpoints.values():
                self._settle(ep, now)
                result[ep.id] = {
                    **self._public(ep),
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
        with self._lock:
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
            with self._lock:
                self._next_outcome = None
            return
        if outcome not in (ERROR, "FAILED"):
            raise ValueError("outcome must be ERROR or FAILED")
        if at not in (PENDING, STARTING, STARTED):
            raise ValueError("at must be PENDING, STARTING or STARTED")
        with self._lock:
            self._next_outcome = (outcome, at)

    def delete_outside(self, endpoint_id: str) -> None:
        """Delete an endpoint (v1) or a v2 endpoint with its deployments as Together's console would: it
        is gone from every list and read from now on, whatever state it was in."""
        with self._lock:
            if endpoint_id in self._endpoints:
                del self._endpoints[endpoint_id]
            else:
                self.v2.delete_outside(endpoint_id)

    def force_state(self, endpoint_id: str, state: str) -> None:
        """Change a state from outside the bot (as the console would); the clock runs on from here."""
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        with self._lock:
            ep = self._endpoints[endpoint_id]
            now = self.clock.now()
            self._enter(ep, state, now)

    @property
    def credit_exhausted(self) -> bool:
        """The account is out of credit (402): v1 refuses creates and starts; v2 whatever would start
        replicas (a deployment created with replicas, or started from rest), not the endpoint itself."""
        return self.v2.credit_exhausted

    @credit_exhausted.setter
    def credit_exhausted(self, value: bool) -> None:
        with self._lock:
            self.v2.credit_exhausted = value

    @property
    def project_id(self) -> str:
        return self.v2.project_id

    @property
    def v2_endpoints(self) -> dict[str, dict[str, Any]]:
        """The v2 store: endpoint id → the endpoint as GET shows it, with `_deployments` in full."""
        with self._lock:
            return self.v2.snapshot()

    def set_headroom(self, instance_type: str, value: int | None) -> None:
        """v2 capacity for an instance type such as `1xnvidia-h100-80gb`; 0 leaves deployments DEGRADED."""
        with self._lock:
            self.v2.set_headroom(instance_type, value)

    def force_deployment_state(self, deployment_id: str, state: str, message: str | None = None) -> None:
        """Change a v2 deployment's state from outside (without the prefix, e.g. FAILED)."""
        with self._lock:
            self.v2.force_deployment_state(deployment_id, state, message)

    def autoscale(self, deployment_id: str, replicas: int) -> None:
        """A v2 deployment's autoscaler under load: `replicas` ready, its state unchanged."""
        with self._lock:
            self.v2.autoscale(deployment_id, replicas)

    def configure_v2(self, **switches: Any) -> None:
        """Set the v2 side's switches: key_type, error_shape, auto_route_first, delete_when_max_zero, auto_stop."""
        with self._lock:
            for name, value in switches.items():
                if name not in (
                    "key_type",
                    "error_shape",
                    "auto_route_first",
                    "delete_when_max_zero",
                    "auto_stop",
                ):
                    raise ValueError(f"unknown v2 switch {name!r}")
                setattr(self.v2, name, value)

    def inject(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        after_commit: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Queue a fault for the next `times` requests matching method (`*` = any) and path.

        The path is matched with `re.fullmatch` against e.g. `/v1/endpoints/endpoint-...`.

        `status` ≥ 400 answers that error (429 carries `Retry-After`, default 1 s). With
        `after_commit` the request is carried out first and only then answered with the error.
        `delay` sleeps that many real seconds before answering; with a status below 400 the answer
        is the normal one, only late.
        """
        fault = _Fault(
            method=method.upper(),
            pattern=re.compile(path_regex),
            status=status,
            remaining=times,
            retry_after=retry_after,
            after_commit=after_commit,
            delay=delay,
        )
        with self._lock:
            self._faults.append(fault)

    def set_latency(self, seconds: float, *, method: str = "*", path: str = ".*") -> None:
        """Answer every request matching `method` (`*` = any) and `path` (a regex, `re.fullmatch`ed against
        e.g. `/v1/hardware`) `seconds` late, in real time, until changed; 0 removes the rule.

        Together can take several seconds (a cold catalogue, a loaded region); this plays it. The wait is
        real because what it tests is real: Slack's three-second clock runs on the wall. Where several
        rules match, the one set last applies. The work is done after the wait, as a slow server does it.
        """
        if seconds < 0:
            raise ValueError("latency can't be negative")
        key = (method.upper(), path)
        with self._lock:
            self._latency.pop(key, None)
            if seconds > 0:
                self._latency[key] = (re.compile(path), float(seconds))

    def clear_latency(self) -> None:
        """Answer at full speed again."""
        with self._lock:
            self._latency.clear()

    def latency_for(self, method: str, path: str) -> float:
        """The seconds a request to `method path` waits before its answer (0: none)."""
        with self._lock:
            rules = list(self._latency.items())
        for (rule_method, _), (pattern, seconds) in reversed(rules):
            if rule_method in (method.upper(), "*") and pattern.fullmatch(path):
                return seconds
        return 0.0

    def chaos(
        self, rate: float, statuses: tuple[int, ...] = (429, 500, 503), seed: int | None = None
    ) -> None:
        """Fail this share of authenticated requests at random with one of `statuses`; 0 turns it off."""
        with self._lock:
            self._chaos_rate = rate
            self._chaos_statuses = tuple(statuses)
            self._chaos_random = random.Random(seed)

    # --- entry point ---------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Response:
        """Answer one HTTP request: (status, headers, body)."""
        method = method.upper()
        path = "/" + path.strip("/")
        lower_headers = {k.lower(): v for k, v in headers.items()}
        parsed, is_json = self._parse_body(body)
        with self._lock:
            self._requests.append(RecordedRequest(method, path, dict(query), parsed if is_json else None))
            if not self._authorized(lower_headers.get("authorization", "")):
                if handles(path):
                    return 401, _JSON, self.v2.error_body(401, INVALID_KEY_MESSAGE, "UNAUTHENTICATED")
                return self._error_response(_ApiError(401, INVALID_KEY_MESSAGE, code="invalid_api_key"))
            fault = self._take_fault(method, path)
        latency = self.latency_for(method, path)
        if latency > 0:
            time.sleep(latency)  # outside the lock, like a fault's delay: other requests carry on
        if fault is not None and fault.delay > 0:
            time.sleep(fault.delay)  # outside the lock: other requests carry on meanwhile
        if fault is not None and fault.status >= 400 and not fault.after_commit:
            return self._fault_response(fault.status, fault.retry_after, path)
        try:
            with self._lock:
                request = _Request(method, path, dict(query), parsed, is_json, self.clock.now(), {})
                status, payload = self._route(request)
        except _ApiError as exc:
            return self._error_response(exc)
        except V2Error as exc:
            return exc.status, _JSON, self.v2.error_body(exc.status, exc.message, exc.code)
        except Exception:  # a simulator bug must still look like an HTTP answer
            log.exception("simulator failed on %s %s", method, path)
            if handles(path):
                return 500, _JSON, self.v2.error_body(500, "Internal server error", "INTERNAL")
            return self._error_response(_ApiError(500, "Internal server error", type="server_error"))
        if fault is not None and fault.status >= 400:  # after_commit: done, but answer an error
            return self._fault_response(fault.status, fault.retry_after, path)
        if status == 204:
            return 204, {}, b""
        if isinstance(payload, Completion):
            return self._completion_response(payload)
        return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    def _completion_response(self, completion: Completion) -> Response:
        with self._lock:
            delay, error = self.inference.first_token_delay, self.inference.first_token_error
        if delay > 0:
            time.sleep(delay)  # outside the lock: a slow model does not hold up the management API
        if completion.stream:
            return 200, dict(SSE_HEADERS), completion.sse(error)
        if error is not None:
            return self._error_response(_ApiError(500, error, type="model_error", code="model_error"))
        return 200, {"Content-Type": "application/json"}, json.dumps(completion.to_json()).encode()

    def configure_inference(
        self, *, first_token_delay: float | None = None, first_token_error: str | None | bool = False
    ) -> None:
        """Chat completions in trouble: `first_token_delay` real seconds before the first token; a
        `first_token_error` message in place of it (None: answer normally again)."""
        with self._lock:
            if first_token_delay is not None:
                self.inference.first_token_delay = first_token_delay
            if first_token_error is not False:
                self.inference.first_token_error = first_token_error  # type: ignore[assignment]

    def _authorized(self, authorization: str) -> bool:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return False
        return self._api_key is None or key.strip() == self._api_key

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method in (method, "*") and fault.pattern.fullmatch(path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        if self._chaos_rate > 0 and self._chaos_statuses and self._chaos_random.random() < self._chaos_rate:
            status = self._chaos_random.choice(self._chaos_statuses)
            return _Fault(method, re.compile(".*"), status, 1, None, False, 0.0)
        return None

    @staticmethod
    def _parse_body(body: bytes) -> tuple[Any, bool]:
        if not body.strip():
            return None, False
        try:
            return json.loads(body), True
        except ValueError:
            return None, False

    @staticmethod
    def _error_response(exc: _ApiError) -> Response:
        payload = _error_payload(exc.message, exc.type, exc.code, exc.param)
        return exc.status, {"Content-Type": "application/json"}, payload

    def _fault_response(self, status: int, retry_after: float | None, path: str = "") -> Response:
        message, type_ = _FAULT_BODIES.get(status, (f"Simulated failure (HTTP {status})", "server_error"))
        headers = {"Content-Type": "application/json"}
        if status == 429:
            seconds = 1.0 if retry_after is None else retry_after
            headers["Retry-After"] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
        elif retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if handles(path):
            return status, headers, self.v2.error_body(status, message)
        return status, headers, _error_payload(message, type_, type_, None)

    def _route(self, request: _Request) -> tuple[int, Any]:
        if handles(request.path):
            body = request.body if request.body_is_json else None
            return self.v2.route(request.method, request.path, request.query, body)
        for method, pattern, handler in _ROUTES:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                request.params = {k: unquote(v) for k, v in match.groupdict().items()}
                return handler(self, request)
        raise _ApiError(
            404, f"Unknown route: {request.method} {request.path}", type="not_found", code="not_found"
        )

    # --- state machine (§9.1) ------------------------------------------------------------------

    def _enter(self, ep: _Endpoint, state: str, at: float) -> None:
        ep.state, ep.since = state, at
        if state == STARTED:
            ep.last_activity = at
        if state in (ERROR, "FAILED"):
            ep.fail_at = None

    def _outcome(self, ep: _Endpoint, state: str) -> str:
        return ep.fail_as if ep.fail_at == state else state

    def _next_transition(self, ep: _Endpoint) -> tuple[float, str] | None:
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

    def _settle(self, ep: _Endpoint, now: float) -> None:
        """Apply every transition whose time has come, each at its own moment."""
        while (step := self._next_transition(ep)) is not None and step[0] <= now:
            self._enter(ep, step[1], step[0])

    def _start(self, ep: _Endpoint, now: float) -> None:
        """Begin provisioning (create or restart)."""
        self._enter(ep, PENDING, now)
        if ep.fail_at == PENDING:
            self._enter(ep, ep.fail_as, now)

    def _find(self, request: _Request) -> _Endpoint:
        endpoint_id = request.params["id"]
        ep = self._endpoints.get(endpoint_id)
        if ep is None:
            raise _ApiError(404, f"Endpoint {endpoint_id} not found", type="not_found", code="not_found")
        self._settle(ep, request.now)
        return ep

    # --- views ---------------------------------------------------------------------------------

    @staticmethod
    def _public(ep: _Endpoint) -> dict[str, Any]:
        return {
            "object": "endpoint",
            "id": ep.id,
            "name": ep.name,
            "display_name": ep.display_name,
            "model": ep.model,
            "hardware": ep.hardware,
            "type": "dedicated",
            "owner": ep.owner,
            "state": ep.state,
            "autoscaling": {"min_replicas": ep.min_replicas, "max_replicas": ep.max_replicas},
            "created_at": _rfc3339(ep.created_at),
        }

    @staticmethod
    def _list_item(ep: _Endpoint) -> dict[str, Any]:
        return {
            "object": "endpoint",
            "id": ep.id,
            "name": ep.name,
            "model": ep.model,
            "type": "dedicated",
            "owner": ep.owner,
            "state": ep.state,
            "created_at": _rfc3339(ep.created_at),
        }

    @staticmethod
    def _hardware_item(hw: SimHardware, availability: str | None) -> dict[str, Any]:
        item: dict[str, Any] = {
            "object": "hardware",
            "id": hw.id,
            "pricing": {"cents_per_minute": hw.cents_per_minute},
            "specs": {
                "gpu_type": hw.gpu_type,
                "gpu_link": hw.gpu_link,
                "gpu_memory": hw.gpu_memory,
                "gpu_count": hw.gpu_count,
            },
            "updated_at": HARDWARE_UPDATED_AT,
        }
        if availability is not None:
            item["availability"] = {"status": availability}
        return item

    # --- routes --------------------------------------------------------------------------------

    def _list_endpoints(self, request: _Request) -> tuple[int, Any]:
        query = request.query
        type_filter = query.get("type")
        if type_filter not in (None, "dedicated", "serverless"):
            raise _ApiError(400, "type must be one of: dedicated, serverless", param="type")
        usage_type = query.get("usage_type")
        if usage_type not in (None, "on-demand", "reserved"):
            raise _ApiError(400, "usage_type must be one of: on-demand, reserved", param="usage_type")
        mine = _parse_bool(query["mine"], "mine") if "mine" in query else False
        items: list[dict[str, Any]] = []
        for ep in self._endpoints.values():
            self._settle(ep, request.now)
            if ep.owner == self.owner or not mine:
                items.append(self._list_item(ep))
        if usage_type is not None and usage_type != "on-demand":
            items = []  # every simulated dedicated endpoint is on-demand
        if not mine and usage_type is None:
            items.extend(dict(entry) for entry in SERVERLESS_ENDPOINTS)
        if type_filter is not None:
            items = [item for item in items if item["type"] == type_filter]
        return 200, {"object": "list", "data": items}

    def _create_endpoint(self, request: _Request) -> tuple[int, Any]:
        if not self.v1_create_enabled:
            raise _ApiError(403, V1_DISABLED_MESSAGE, type=V1_DISABLED, code=V1_DISABLED)
        body = request.object_body()
        model_id = body.get("model")
        if not isinstance(model_id, str) or not model_id:
            raise _ApiError(400, "Model is required", param="model")
        hardware_id = body.get("hardware")
        if not isinstance(hardware_id, str) or not hardware_id:
            raise _ApiError(400, "Hardware is required", param="hardware")
        if "autoscaling" not in body:
            raise _ApiError(400, "autoscaling is required", param="autoscaling")
        min_replicas, max_replicas = _validate_autoscaling(body["autoscaling"])
        state = body.get("state", STARTED)
        if state not in (STARTED, STOPPED):
            raise _ApiError(400, "state must be one of: STARTED, STOPPED", param="state")
        inactive_timeout = _validate_inactive_timeout(body)
        display_name = body.get("display_name")
        if display_name is not None and not isinstance(display_name, str):
            raise _ApiError(400, "display_name must be a string", param="display_name")
        flags = {}
        for flag in ("disable_prompt_cache", "disable_speculative_decoding"):
            value = body.get(flag, False)
            if not isinstance(value, bool):
                raise _ApiError(400, f"{flag} must be a boolean", param=flag)
            flags[flag] = value
        zone = body.get("availability_zone") or request.query.get("availability_zone")
        if zone is not None and zone not in AVAILABILITY_ZONES:
            raise _ApiError(400, f"invalid availability zone: {zone}", param="availability_zone")

        model = MODELS_BY_ID.get(model_id)
        if model is None or not model.dedicated:
            raise _ApiError(
                404,
                f"Model not found: model '{model_id}' does not exist or cannot run on a dedicated endpoint",
                code="model_not_found",
                param="model",
            )
        hardware = HARDWARE_BY_ID.get(hardware_id)
        if hardware is None:
            raise _ApiError(
                400,
                f"invalid hardware provided: '{hardware_id}'. Check the hardware API "
                "(GET /v1/hardware?model=) for the configurations this model supports",
                param="hardware",
            )
        if not model.fits(hardware):
            raise _ApiError(
                404,
                f"Hardware {hardware_id} is not available for this model ({model_id}). "
                "Check the hardware API for the configurations this model supports",
                param="hardware",
            )
        if self._availability.get(hardware_id) == "unavailable":
            raise _ApiError(400, NO_CAPACITY_MESSAGE, param="hardware")
        if self.credit_exhausted:
            raise _ApiError(402, "Credit limit exceeded", type="credit_limit", code="credit_limit")

        name = f"{self.owner}/{model_id}-{uuid.uuid4().hex[:8]}"
        ep = _Endpoint(
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
        return 200, self._public(ep)

    def _get_endpoint(self, request: _Request) -> tuple[int, Any]:
        return 200, self._public(self._find(request))

    def _update_endpoint(self, request: _Request) -> tuple[int, Any]:
        ep = self._find(request)
        body = request.object_body()
        # Validate everything before changing anything.
        display_name = body.get("display_name")
        if display_name is not None and not isinstance(display_name, str):
            raise _ApiError(400, "display_name must be a string", param="display_name")
        bounds = _validate_autoscaling(body["autoscaling"]) if "autoscaling" in body else None
        timeout = _validate_inactive_timeout(body)
        state = body.get("state")
        if state is not None and state not in (STARTED, STOPPED):
            raise _ApiError(400, "state must be one of: STARTED, STOPPED", param="state")
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
        return 200, self._public(ep)

    def _v2_inference(self, target: str, now: float) -> bool:
        try:
            return self.v2.infer(target, now)
        except InferenceRefused as exc:
            raise _ApiError(exc.status, exc.message, type=exc.code, code=exc.code) from None

    def _check_can_start(self, ep: _Endpoint) -> None:
        if ep.state in (PENDING, STARTING):
            raise _ApiError(409, f"endpoint {ep.name} is already starting", code="conflict")
        if ep.state == STOPPING:
            raise _ApiError(
                409, f"endpoint {ep.name} is stopping; start it once it is STOPPED", code="conflict"
            )
        if ep.state == STARTED:
            return
        if not self.v1_create_enabled:
            raise _ApiError(403, V1_DISABLED_MESSAGE, type=V1_DISABLED, code=V1_DISABLED)
        if self._availability.get(ep.hardware) == "unavailable":
            raise _ApiError(400, NO_CAPACITY_MESSAGE, param="hardware")
        if self.credit_exhausted:
            raise _ApiError(402, "Credit limit exceeded", type="credit_limit", code="credit_limit")

    def _delete_endpoint(self, request: _Request) -> tuple[int, Any]:
        ep = self._find(request)
        del self._endpoints[ep.id]
        return 204, None

    def _list_hardware(self, request: _Request) -> tuple[int, Any]:
        model_id = request.query.get("model")
        if not model_id:
            return 200, {"object": "list", "data": [self._hardware_item(hw, None) for hw in HARDWARE]}
        model = MODELS_BY_ID.get(model_id)
        fitting = fitting_hardware(model) if model is not None else []
        if not fitting:
            raise _ApiError(
                404, f"No GPU configurations found for model {model_id}", type="not_found", param="model"
            )
        items = [self._hardware_item(hw, self._availability.get(hw.id, "available")) for hw in fitting]
        return 200, {"object": "list", "data": items}

    def _list_zones(self, request: _Request) -> tuple[int, Any]:
        return 200, {"avzones": list(AVAILABILITY_ZONES)}

    def _list_models(self, request: _Request) -> tuple[int, Any]:
        dedicated_only = "dedicated" in request.query and _parse_bool(request.query["dedicated"], "dedicated")
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

    def _chat_completion(self, request: _Request) -> tuple[int, Any]:
        body = request.object_body()
        target = body.get("model")
        if not isinstance(target, str) or not target:
            raise _ApiError(400, "model is required", param="model")
        stream, max_tokens, refused = check_request(body)
        if refused is not None:
            raise _ApiError(400, refused)
        ep = next((e for e in self._endpoints.values() if target in (e.name, e.id)), None)
        if ep is None and self._v2_inference(target, request.now):
            pass  # a v2 endpoint served it
        elif ep is None:
            model = MODELS_BY_ID.get(target)
            if model is None:
                raise _ApiError(
                    404, f"Unable to access model {target}. Model not found", code="model_not_found"
                )
            serverless = any(entry["model"] == target for entry in SERVERLESS_ENDPOINTS)
            if not serverless:
                raise _ApiError(
                    400,
                    f"Unable to access non-serverless model {target}. Please visit "
                    f"https://api.together.ai/models/{target} to create and start a new dedicated endpoint "
                    "for the model.",
                    type="model_not_available",
                    code="model_not_available",
                )
        else:
            self._settle(ep, request.now)
            if ep.state != STARTED:
                raise _ApiError(
                    400,
                    f"Endpoint {ep.name} is not running (state {ep.state}). Start it and try again.",
                    code="endpoint_not_running",
                )
            ep.last_activity = request.now
        return 200, Completion(target, int(request.now), stream, max_tokens)


def _validate_autoscaling(value: Any) -> tuple[int, int]:
    if not isinstance(value, dict):
        raise _ApiError(
            400, "autoscaling must be an object with min_replicas and max_replicas", param="autoscaling"
        )
    for key in ("min_replicas", "max_replicas"):
        if key not in value:
            raise _ApiError(400, f"autoscaling.{key} is required", param=f"autoscaling.{key}")
        if not _is_int(value[key]) or value[key] < 0:
            raise _ApiError(400, f"autoscaling.{key} must be an integer >= 0", param=f"autoscaling.{key}")
    low, high = value["min_replicas"], value["max_replicas"]
    if high < 1:
        raise _ApiError(400, "autoscaling.max_replicas must be at least 1", param="autoscaling.max_replicas")
    if low > high:
        raise _ApiError(
            400,
            "autoscaling.min_replicas must be less than or equal to autoscaling.max_replicas",
            param="autoscaling",
        )
    return low, high


def _validate_inactive_timeout(body: dict[str, Any]) -> int | None:
    """Minutes from the body: omitted → None; null or 0 → 0 (auto-stop off)."""
    if "inactive_timeout" not in body:
        return None
    value = body["inactive_timeout"]
    if value is None:
        return 0
    if not _is_int(value) or value < 0:
        raise _ApiError(400, "inactive_timeout must be an integer >= 0 or null", param="inactive_timeout")
    return int(value)


_ROUTES: list[tuple[str, re.Pattern[str], _Handler]] = [
    ("GET", re.compile(r"/v1/endpoints"), TogetherSimulator._list_endpoints),
    ("POST", re.compile(r"/v1/endpoints"), TogetherSimulator._create_endpoint),
    ("GET", re.compile(r"/v1/endpoints/(?P<id>[^/]+)"), TogetherSimulator._get_endpoint),
    ("PATCH", re.compile(r"/v1/endpoints/(?P<id>[^/]+)"), TogetherSimulator._update_endpoint),
    ("DELETE", re.compile(r"/v1/endpoints/(?P<id>[^/]+)"), TogetherSimulator._delete_endpoint),
    ("GET", re.compile(r"/v1/hardware"), TogetherSimulator._list_hardware),
    ("GET", re.compile(r"/v1/clusters/availability-zones"), TogetherSimulator._list_zones),
    ("GET", re.compile(r"/v1/models"), TogetherSimulator._list_models),
    ("POST", re.compile(r"/v1/chat/completions"), TogetherSimulator._chat_completion),
]


# --- fronts ------------------------------------------------------------------------------------


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    sim: TogetherSimulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout tests) leaves a broken pipe behind; that is not news.
        log.debug("simulator connection from %s ended abruptly", client_address, exc_info=True)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffer the response and send it in one go: headers and body written apart meet Nagle's
    # algorithm and delayed ACKs, which cost ~40 ms per request.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _HttpServer

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        status, headers, payload = self.server.sim.handle(
            self.command, parts.path, query, dict(self.headers.items()), body
        )
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if status != 204:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulator: " + format, *args)


class SimulatorServer:
    """Serves a `TogetherSimulator` over HTTP from a daemon thread; `.url` is the API root."""

    def __init__(self, sim: TogetherSimulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self._host = host
        self._port = port
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator server is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SimulatorServer:
        if self._server is not None:
            return self
        server = _HttpServer((self._host, self._port), _RequestHandler)
        server.sim = self.sim
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="together-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SimulatorTransport(httpx.BaseTransport):
    """An httpx transport that hands requests straight to a simulator, without sockets.

    `delay` faults block the caller instead of causing a client timeout; use `SimulatorServer`
    to exercise timeouts.
    """

    def __init__(self, sim: TogetherSimulator) -> None:
        self.sim = sim

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params.multi_items())
        status, headers, body = self.sim.handle(
            request.method,
            request.url.raw_path.decode("ascii").split("?", 1)[0],
            query,
            dict(request.headers),
            request.read(),
        )
        return httpx.Response(status, headers=headers, content=body, request=request)
