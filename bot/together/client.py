"""`TogetherClient`: the Together v1 dedicated-endpoint API over httpx, as an `EndpointProvider`.

Retries live in `_send` only. Reads and idempotent writes are retried on 429, 5xx and transport
failures; a create (POST) is retried only when the request certainly never reached Together.
"""

from __future__ import annotations

import email.utils
import enum
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from bot.domain.provider import (
    EndpointInfo,
    HardwareOption,
    LaunchSpec,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderConflict,
    ProviderError,
    ProviderForbidden,
    ProviderNotFound,
    ProviderPaymentRequired,
    ProviderRateLimited,
    ProviderUnavailable,
)
from bot.together.models import DedicatedEndpoint, EndpointList, ErrorBody, HardwareList

log = logging.getLogger(__name__)

USER_AGENT = "endpoint-bot/0.1"
RETRY_AFTER_CAP = 60.0  # seconds; a longer Retry-After is waited for only this long

_ERRORS_BY_STATUS: dict[int, type[ProviderError]] = {
    400: ProviderBadRequest,
    401: ProviderAuthError,
    402: ProviderPaymentRequired,
    403: ProviderForbidden,
    404: ProviderNotFound,
    409: ProviderConflict,
    422: ProviderBadRequest,
    429: ProviderRateLimited,
}

# Transport failures worth another attempt (not e.g. an unsupported URL scheme).
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# Failures where the request certainly never reached the server, so even a create may be resent.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

_Model = TypeVar("_Model", bound=BaseModel)


class _Omitted(enum.Enum):
    OMITTED = "omitted"


OMITTED = _Omitted.OMITTED  # "leave unchanged", where None already means "send null"


def error_class_for(status: int) -> type[ProviderError]:
    """The ProviderError subclass for an HTTP error status."""
    if status in _ERRORS_BY_STATUS:
        return _ERRORS_BY_STATUS[status]
    return ProviderUnavailable if status >= 500 else ProviderBadRequest


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait according to `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class TogetherClient:
    """Typed access to Together's v1 dedicated endpoints; raises `ProviderError` subclasses."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        root = base_url.strip().rstrip("/")
        if root.endswith("/v1"):
            root = root[: -len("/v1")]
        self._root_url = root
        self._api_key = api_key.strip()  # a key read from a file often ends in a newline
        self._max_retries = max(0, max_retries)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._random = random.Random()
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self._api_key:  # without a key, let Together answer 401 rather than send "Bearer "
            headers["Authorization"] = f"Bearer {self._api_key}"
        self._http = httpx.Client(
            base_url=f"{root}/v1",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
        )

    @property
    def root_url(self) -> str:
        """The API root without `/v1`, e.g. `https://api.together.xyz`."""
        return self._root_url

    def __repr__(self) -> str:
        return f"TogetherClient(root_url={self._root_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TogetherClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- EndpointProvider ----------------------------------------------------------------------

    def list_hardware(self, model: str | None = None) -> list[HardwareOption]:
        """`GET /v1/hardware`; with a model, only the configurations that fit it, with availability."""
        params = {"model": model} if model else None
        response = self._send("GET", "/hardware", params=params)
        body = self._json(response)
        if isinstance(body, list):  # tolerate a bare array
            body = {"object": "list", "data": body}
        hardware = self._parse(HardwareList, body, response)
        return [item.to_option() for item in hardware.data]

    def create_endpoint(self, spec: LaunchSpec) -> EndpointInfo:
        """`POST /v1/endpoints`. Never resent once it may have reached Together."""
        payload: dict[str, Any] = {
            "model": spec.model,
            "hardware": spec.hardware,
            "autoscaling": {"min_replicas": spec.min_replicas, "max_replicas": spec.max_replicas},
            "disable_prompt_cache": spec.disable_prompt_cache,
            "disable_speculative_decoding": spec.disable_speculative_decoding,
            "state": "STARTED" if spec.start else "STOPPED",
        }
        if spec.display_name:
            payload["display_name"] = spec.display_name
        if spec.inactive_timeout is not None:
            payload["inactive_timeout"] = spec.inactive_timeout
        return self._endpoint(self._send("POST", "/endpoints", json=payload))

    def get_endpoint(self, endpoint_id: str) -> EndpointInfo:
        return self._endpoint(self._send("GET", _endpoint_path(endpoint_id)))

    def list_endpoints(self) -> list[EndpointInfo]:
        """The account's own dedicated endpoints, in one call."""
        response = self._send("GET", "/endpoints", params={"type": "dedicated", "mine": "true"})
        listing = self._parse(EndpointList, self._json(response), response)
        return [item.to_info() for item in listing.data if item.id and item.type == "dedicated"]

    # --- later work: start/stop, scaling, deletion ---------------------------------------------

    def update_endpoint(
        self,
        endpoint_id: str,
        *,
        state: Literal["STARTED", "STOPPED"] | None = None,
        min_replicas: int | None = None,
        max_replicas: int | None = None,
        display_name: str | None = None,
        inactive_timeout: int | None | _Omitted = OMITTED,
    ) -> EndpointInfo:
        """`PATCH /v1/endpoints/{id}`. `inactive_timeout=None` sends null (auto-stop off).

        Together wants both autoscaling bounds together; when only one is given, the other is
        read from the endpoint first.
        """
        payload: dict[str, Any] = {}
        if display_name is not None:
            payload["display_name"] = display_name
        if min_replicas is not None or max_replicas is not None:
            if min_replicas is None or max_replicas is None:
                current = self.get_endpoint(endpoint_id)
                min_replicas = current.min_replicas if min_replicas is None else min_replicas
                max_replicas = current.max_replicas if max_replicas is None else max_replicas
            payload["autoscaling"] = {"min_replicas": min_replicas, "max_replicas": max_replicas}
        if inactive_timeout is not OMITTED:
            payload["inactive_timeout"] = inactive_timeout
        if state is not None:
            payload["state"] = state
        if not payload:
            raise ValueError("update_endpoint needs at least one field to change")
        return self._endpoint(self._send("PATCH", _endpoint_path(endpoint_id), json=payload))

    def delete_endpoint(self, endpoint_id: str) -> None:
        """`DELETE /v1/endpoints/{id}`: permanent."""
        self._send("DELETE", _endpoint_path(endpoint_id))

    # --- plumbing ------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """One logical call with the retry policy applied; returns a 2xx/3xx response or raises."""
        idempotent = method != "POST"
        shown = f"/v1{path}"
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, params=params, json=json)
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, _NEVER_SENT)
                retryable = isinstance(exc, _RETRYABLE_TRANSPORT) and (idempotent or never_sent)
                if retryable and attempt < self._max_retries:
                    delay = self._backoff(attempt)
                    self._log_retry(method, shown, type(exc).__name__, delay, attempt)
                    self._sleep(delay)
                    attempt += 1
                    continue
                detail = str(exc) or type(exc).__name__
                raise ProviderUnavailable(
                    message=self._scrub(f"Could not reach Together for {method} {shown}: {detail}"),
                    ambiguous=method != "GET" and not never_sent,
                ) from exc

            status = response.status_code
            if status < 400:
                return response
            retryable = status == 429 or (status >= 500 and idempotent)
            if retryable and attempt < self._max_retries:
                retry_after = parse_retry_after(response.headers)
                delay = self._backoff(attempt) if retry_after is None else min(retry_after, RETRY_AFTER_CAP)
                self._log_retry(method, shown, str(status), delay, attempt)
                response.close()
                self._sleep(delay)
                attempt += 1
                continue
            # A 5xx to a write means Together may have acted on it.
            raise self._error(response, ambiguous=status >= 500 and method != "GET")

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter, capped."""
        base = self._backoff_base * (2**attempt)
        return min(self._backoff_cap, base + self._random.uniform(0, self._backoff_base))

    def _log_retry(self, method: str, path: str, status: str, delay: float, attempt: int) -> None:
        log.warning(
            "Together %s %s answered %s; retry %d of %d in %.2fs",
            method,
            path,
            status,
            attempt + 1,
            self._max_retries,
            delay,
        )

    def _error(self, response: httpx.Response, *, ambiguous: bool) -> ProviderError:
        """Turn an error answer into a ProviderError carrying Together's own message."""
        status = response.status_code
        message: str | None = None
        error_type: str | None = None
        code: str | None = None
        extra: dict[str, object] = {}
        text = response.text.strip()
        try:
            body = ErrorBody.model_validate(response.json())
        except ValueError:  # not JSON, or JSON without the {"error": {...}} envelope
            body = None
        if body is not None:
            message = body.error.message
            error_type = body.error.type
            code = body.error.code
            if body.error.param is not None:
                extra["param"] = body.error.param
        if not message:
            message = text[:500] if text else f"Together answered HTTP {status} with no details"
        cls = error_class_for(status)
        return cls(
            message=self._scrub(message),
            status=status,
            code=code,
            type=error_type,
            retry_after=parse_retry_after(response.headers),
            extra=extra,
            ambiguous=ambiguous,
        )

    def _scrub(self, text: str) -> str:
        # Belt and braces: the key is only ever sent in a header, but never echo it back.
        return text.replace(self._api_key, "***") if self._api_key else text

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise self._unreadable(response, "not JSON") from exc

    def _parse(self, model: type[_Model], body: Any, response: httpx.Response) -> _Model:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            raise self._unreadable(response, f"{where}: {first['msg']}") from exc

    def _endpoint(self, response: httpx.Response) -> EndpointInfo:
        return self._parse(DedicatedEndpoint, self._json(response), response).to_info()

    def _unreadable(self, response: httpx.Response, why: str) -> ProviderError:
        request = response.request
        return ProviderError(
            message=f"Together answered {request.method} {request.url.path} with an unexpected body ({why})",
            status=response.status_code,
        )


def _endpoint_path(endpoint_id: str) -> str:
    if not endpoint_id:
        raise ValueError("endpoint_id is empty")
    return f"/endpoints/{quote(endpoint_id, safe='')}"
