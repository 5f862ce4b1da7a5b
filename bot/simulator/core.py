"""The simulator's core: one account at Together, answering its v1 and v2 APIs from one process.

`TogetherSimulator.handle(method, path, query, headers, body)` answers one request. It checks the key,
records the request, applies faults and latency (`faults`), then hands the request to the API it belongs
to: `/v2/...`, `/v3/whoami`, `/v1/whoami` and `/v1/projects` to `V2Simulator` (`v2.api`), the rest of `/v1/`
to `V1Simulator` (`v1.api`), chat completions to whichever serves the model. Both share the clock
(`clock`), the lock, the key, the faults and the request log.
Test controls (`inject`, `chaos`, `set_availability`, `force_state`, ...) are plain thread-safe methods.
The HTTP server and the httpx transport are in `server`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from bot.simulator.catalog import MODELS_BY_ID, SERVERLESS_ENDPOINTS
from bot.simulator.clock import Clock, ScaledClock
from bot.simulator.faults import Faults, fault_answer
from bot.simulator.inference import SSE_HEADERS, Completion, InferenceSwitches, check_request
from bot.simulator.v1.api import ERROR, STARTED, V1Simulator
from bot.simulator.v1.wire import V1Error, V1Request, error_payload, error_response
from bot.simulator.v2.api import InferenceRefused, V2Error, V2Simulator, handles
from bot.simulator.v2.catalog import sim_id

log = logging.getLogger(__name__)

REQUEST_LOG_SIZE = 10_000
DEFAULT_PROJECT_ID = sim_id("proj_", "simulated-project")
INVALID_KEY_MESSAGE = (
    "Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys."
)
V2_SWITCHES = ("key_type", "error_shape", "auto_route_first", "delete_when_max_zero", "auto_stop")

Response = tuple[int, dict[str, str], bytes]
_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the simulator received it (the Authorization header is not kept)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any


class TogetherSimulator:
    """Together's v1 and v2 dedicated-endpoint APIs of one account, in memory. Thread-safe: one lock guards
    the state of both."""

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
        self._api_key = api_key
        self._lock = threading.RLock()
        # Bounded so that a long-running `bot simulator` does not grow without limit.
        self._requests: deque[RecordedRequest] = deque(maxlen=REQUEST_LOG_SIZE)
        self._faults = Faults()
        self.inference = InferenceSwitches()  # a slow or failing first token (configure_inference)
        # The v2 API of the same account: its project's slug is the v1 owner name.
        self.v2 = V2Simulator(self.clock, project_id=project_id, project_slug=owner, durations=v2_durations)
        self.v1 = V1Simulator(
            self.clock,
            owner=owner,
            v1_create_enabled=v1_create_enabled,
            durations=durations,
            credit_exhausted=lambda: self.v2.credit_exhausted,
        )

    # --- test controls: the account ------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received so far (the last REQUEST_LOG_SIZE), oldest first; a copy."""
        with self._lock:
            return list(self._requests)

    @property
    def owner(self) -> str:
        return self.v1.owner

    @property
    def v1_create_enabled(self) -> bool:
        """Whether v1 still creates and starts endpoints (Together has turned it off for most accounts)."""
        return self.v1.v1_create_enabled

    @v1_create_enabled.setter
    def v1_create_enabled(self, value: bool) -> None:
        with self._lock:
            self.v1.v1_create_enabled = value

    @property
    def credit_exhausted(self) -> bool:
        """The account is out of credit (402): v1 refuses creates and starts; v2 whatever would start
        replicas (a deployment created with replicas, or started from rest), not the endpoint itself."""
        return self.v2.credit_exhausted

    @credit_exhausted.setter
    def credit_exhausted(self, value: bool) -> None:
        with self._lock:
            self.v2.credit_exhausted = value

    def delete_outside(self, endpoint_id: str) -> None:
        """Delete an endpoint (v1) or a v2 endpoint with its deployments as Together's console would: it
        is gone from every list and read from now on, whatever state it was in."""
        with self._lock:
            if not self.v1.delete_outside(endpoint_id):
                self.v2.delete_outside(endpoint_id)

    # --- test controls: v1 ---------------------------------------------------------------------

    @property
    def endpoints(self) -> dict[str, dict[str, Any]]:
        """The v1 store: id → the endpoint as GET shows it, plus the settings it does not return."""
        with self._lock:
            return self.v1.snapshot()

    def set_availability(self, hardware_id: str, status: str) -> None:
        """Capacity for one hardware id: available (default), insufficient or unavailable."""
        with self._lock:
            self.v1.set_availability(hardware_id, status)

    def set_next_outcome(self, outcome: str | None = ERROR, *, at: str = STARTED) -> None:
        """The next created endpoint enters `outcome` (ERROR or FAILED) instead of state `at`."""
        with self._lock:
            self.v1.set_next_outcome(outcome, at=at)

    def force_state(self, endpoint_id: str, state: str) -> None:
        """Change a state from outside the bot (as the console would); the clock runs on from here."""
        with self._lock:
            self.v1.force_state(endpoint_id, state)

    # --- test controls: v2 ---------------------------------------------------------------------

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
                if name not in V2_SWITCHES:
                    raise ValueError(f"unknown v2 switch {name!r}")
                setattr(self.v2, name, value)

    # --- test controls: trouble (see `Faults` for each) ----------------------------------------

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
        """Queue a fault for the next `times` requests matching method (`*` = any) and path (`Faults.inject`)."""
        self._faults.inject(
            method,
            path_regex,
            status,
            times=times,
            retry_after=retry_after,
            after_commit=after_commit,
            delay=delay,
        )

    def set_latency(self, seconds: float, *, method: str = "*", path: str = ".*") -> None:
        """Answer requests matching `method` and `path` `seconds` late, in real time (`Faults.set_latency`)."""
        self._faults.set_latency(seconds, method=method, path=path)

    def clear_latency(self) -> None:
        """Answer at full speed again."""
        self._faults.clear_latency()

    def clear_faults(self) -> None:
        """Drop the injected faults not served yet."""
        self._faults.clear()

    def latency_for(self, method: str, path: str) -> float:
        """The seconds a request to `method path` waits before its answer (0: none)."""
        return self._faults.latency_for(method, path)

    def chaos(
        self, rate: float, statuses: tuple[int, ...] = (429, 500, 503), seed: int | None = None
    ) -> None:
        """Fail this share of authenticated requests at random with one of `statuses`; 0 turns it off."""
        self._faults.chaos(rate, statuses, seed)

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
                return error_response(V1Error(401, INVALID_KEY_MESSAGE, code="invalid_api_key"))
            fault = self._faults.take(method, path)
        latency = self._faults.latency_for(method, path)
        if latency > 0:
            time.sleep(latency)  # outside the lock, like a fault's delay: other requests carry on
        if fault is not None and fault.delay > 0:
            time.sleep(fault.delay)  # outside the lock: other requests carry on meanwhile
        if fault is not None and fault.status >= 400 and not fault.after_commit:
            return self._fault_response(fault.status, fault.retry_after, path)
        try:
            with self._lock:
                request = V1Request(method, path, dict(query), parsed, is_json, self.clock.now(), {})
                status, payload = self._route(request)
        except V1Error as exc:
            return error_response(exc)
        except V2Error as exc:
            return exc.status, _JSON, self.v2.error_body(exc.status, exc.message, exc.code)
        except Exception:  # a simulator bug must still look like an HTTP answer
            log.exception("simulator failed on %s %s", method, path)
            if handles(path):
                return 500, _JSON, self.v2.error_body(500, "Internal server error", "INTERNAL")
            return error_response(V1Error(500, "Internal server error", type="server_error"))
        if fault is not None and fault.status >= 400:  # after_commit: done, but answer an error
            return self._fault_response(fault.status, fault.retry_after, path)
        if status == 204:
            return 204, {}, b""
        if isinstance(payload, Completion):
            return self._completion_response(payload)
        return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    def _route(self, request: V1Request) -> tuple[int, Any]:
        if handles(request.path):
            body = request.body if request.body_is_json else None
            return self.v2.route(request.method, request.path, request.query, body)
        if (request.method, request.path) == ("POST", "/v1/chat/completions"):
            return 200, self._chat_completion(request)
        return self.v1.route(request)

    def _chat_completion(self, request: V1Request) -> Completion:
        """A v1 endpoint, else a v2 one, else a serverless model answers (§5); whichever serves it."""
        body = request.object_body()
        target = body.get("model")
        if not isinstance(target, str) or not target:
            raise V1Error(400, "model is required", param="model")
        stream, max_tokens, refused = check_request(body)
        if refused is not None:
            raise V1Error(400, refused)
        if not self.v1.serve(target, request.now) and not self._v2_serves(target, request.now):
            if MODELS_BY_ID.get(target) is None:
                raise V1Error(
                    404, f"Unable to access model {target}. Model not found", code="model_not_found"
                )
            if not any(entry["model"] == target for entry in SERVERLESS_ENDPOINTS):
                raise V1Error(
                    400,
                    f"Unable to access non-serverless model {target}. Please visit "
                    f"https://api.together.ai/models/{target} to create and start a new dedicated endpoint "
                    "for the model.",
                    type="model_not_available",
                    code="model_not_available",
                )
        return Completion(target, int(request.now), stream, max_tokens)

    def _v2_serves(self, target: str, now: float) -> bool:
        try:
            return self.v2.infer(target, now)
        except InferenceRefused as exc:
            raise V1Error(exc.status, exc.message, type=exc.code, code=exc.code) from None

    def _completion_response(self, completion: Completion) -> Response:
        with self._lock:
            delay, error = self.inference.first_token_delay, self.inference.first_token_error
        if delay > 0:
            time.sleep(delay)  # outside the lock: a slow model does not hold up the management API
        if completion.stream:
            return 200, dict(SSE_HEADERS), completion.sse(error)
        if error is not None:
            return error_response(V1Error(500, error, type="model_error", code="model_error"))
        return 200, {"Content-Type": "application/json"}, json.dumps(completion.to_json()).encode()

    def _authorized(self, authorization: str) -> bool:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return False
        return self._api_key is None or key.strip() == self._api_key

    @staticmethod
    def _parse_body(body: bytes) -> tuple[Any, bool]:
        if not body.strip():
            return None, False
        try:
            return json.loads(body), True
        except ValueError:
            return None, False

    def _fault_response(self, status: int, retry_after: float | None, path: str = "") -> Response:
        message, type_, headers = fault_answer(status, retry_after)
        if handles(path):
            return status, headers, self.v2.error_body(status, message)
        return status, headers, error_payload(message, type_, type_, None)
