"""`TogetherHttp`: one httpx client with Together's retry policy and error mapping, and `TogetherApiClient`,
the base of the v1 and v2 clients (constructor, auth, `_send`, reading answers), so that both live in one place.

Reads and idempotent writes are retried on 429, 5xx and transport failures; a POST is retried only on
429 or when the request certainly never reached Together. Error bodies come in two shapes (v2 reference
§9.1) and both are understood: Together's `{"error": {...}}` and the RPC `{"code", "message", "details"}`.
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
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from bot import metrics
from bot.domain.provider import (
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
from bot.together.wire import ErrorBody

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

# gRPC status codes by number, for the RPC error shape of the v2 API.
GRPC_CODES: dict[int, str] = {
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}

# Transport failures worth another attempt (not e.g. an unsupported URL scheme).
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# Failures where the request certainly never reached the server, so even a create may be resent.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

_Model = TypeVar("_Model", bound=BaseModel)
_T = TypeVar("_T")


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


def root_url_of(base_url: str) -> str:
    """The API root: `https://api.together.xyz/v1/` -> `https://api.together.xyz`."""
    root = base_url.strip().rstrip("/")
    if root.endswith("/v1"):
        root = root[: -len("/v1")]
    return root


class TogetherHttp:
    """Sends one logical call with the retry policy applied and turns error answers into ProviderErrors.

    Paths are absolute from the API root (`/v1/hardware`, `/v2/projects/...`). The key is sent only in
    the Authorization header and scrubbed from every message.
    """

    def __init__(
        self,
        root_url: str,
        api_key: str,
        *,
        timeout: float,
        max_retries: int,
        backoff_base: float,
        backoff_cap: float,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.root_url = root_url
        self._api_key = api_key.strip()  # a key read from a file often ends in a newline
        self.max_retries = max(0, max_retries)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self.sleep = sleep
        self._random = random.Random()
        self._log = logger or logging.getLogger(__name__)
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self._api_key:  # without a key, let Together answer 401 rather than send "Bearer "
            headers["Authorization"] = f"Bearer {self._api_key}"
        self.http = httpx.Client(
            base_url=root_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        retries: int | None = None,
    ) -> httpx.Response:
        """One logical call with the retry policy applied; returns a 2xx/3xx response or raises.
        `retries` lowers the client's limit for a call whose failure only delays something (0: none)."""
        idempotent = method != "POST"
        limit = self.max_retries if retries is None else min(retries, self.max_retries)
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                response = self.http.request(method, path, params=params, json=json)
            except httpx.TransportError as exc:
                metrics.observe_together_call(method, path, "unreachable", time.perf_counter() - started)
                never_sent = isinstance(exc, _NEVER_SENT)
                retryable = isinstance(exc, _RETRYABLE_TRANSPORT) and (idempotent or never_sent)
                if retryable and attempt < limit:
                    delay = self._backoff(attempt)
                    self._log_retry(method, path, type(exc).__name__, delay, attempt)
                    self.sleep(delay)
                    attempt += 1
                    continue
                detail = str(exc) or type(exc).__name__
                raise ProviderUnavailable(
                    message=self.scrub(f"Could not reach Together for {method} {path}: {detail}"),
                    ambiguous=method != "GET" and not never_sent,
                ) from exc

            status = response.status_code
            metrics.observe_together_call(method, path, status, time.perf_counter() - started)
            if status < 400:
                return response
            retryable = status == 429 or (status >= 500 and idempotent)
            if retryable and attempt < limit:
                retry_after = parse_retry_after(response.headers)
                delay = self._backoff(attempt) if retry_after is None else min(retry_after, RETRY_AFTER_CAP)
                self._log_retry(method, path, str(status), delay, attempt)
                response.close()
                self.sleep(delay)
                attempt += 1
                continue
            # A 5xx to a write means Together may have acted on it.
            raise self.error(response, ambiguous=status >= 500 and method != "GET")

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter, capped."""
        base = self._backoff_base * (2**attempt)
        return min(self._backoff_cap, base + self._random.uniform(0, self._backoff_base))

    def _log_retry(self, method: str, path: str, status: str, delay: float, attempt: int) -> None:
        self._log.warning(
            "Together %s %s answered %s; retry %d of %d in %.2fs",
            method,
            path,
            status,
            attempt + 1,
            self.max_retries,
            delay,
        )

    def error(self, response: httpx.Response, *, ambiguous: bool) -> ProviderError:
        """Turn an error answer into a ProviderError carrying Together's own message."""
        status = response.status_code
        message: str | None = None
        error_type: str | None = None
        code: str | None = None
        extra: dict[str, object] = {}
        text = response.text.strip()
        try:
            raw = response.json()
        except ValueError:
            raw = None
        if isinstance(raw, dict) and isinstance(raw.get("error"), dict):
            try:
                body = ErrorBody.model_validate(raw)
            except ValidationError:
                body = None
            if body is not None:
                message = body.error.message
                error_type = body.error.type
                code = body.error.code
                if body.error.param is not None:
                    extra["param"] = body.error.param
        elif isinstance(raw, dict) and "message" in raw:
            message, code, details = _rpc_error(raw)
            if details:
                extra["details"] = details
        if not message:
            message = text[:500] if text else f"Together answered HTTP {status} with no details"
        cls = error_class_for(status)
        return cls(
            message=self.scrub(message),
            status=status,
            code=code,
            type=error_type,
            retry_after=parse_retry_after(response.headers),
            extra={k: self.scrub(v) if isinstance(v, str) else v for k, v in extra.items()},
            ambiguous=ambiguous,
        )

    def scrub(self, text: str) -> str:
        # Belt and braces: the key is only ever sent in a header, but never echo it back.
        return text.replace(self._api_key, "***") if self._api_key else text

    def json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise self.unreadable(response, "not JSON") from exc

    def parse(self, model: type[_Model], body: Any, response: httpx.Response) -> _Model:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            raise self.unreadable(response, f"{where}: {first['msg']}") from exc

    def unreadable(self, response: httpx.Response, why: str) -> ProviderError:
        request = response.request
        return ProviderError(
            message=f"Together answered {request.method} {request.url.path} with an unexpected body ({why})",
            status=response.status_code,
        )


class _Omitted(enum.Enum):
    OMITTED = "omitted"


OMITTED = _Omitted.OMITTED  # "leave unchanged", where None already means "send null"


class TogetherApiClient:
    """What the v1 and v2 clients share: the API root, one `TogetherHttp` (auth, retries, error mapping),
    reading answers into pydantic models, and close() / `with`.

    `_prefix` is put before every path given to `_send` (v1: `/v1`; v2 passes absolute paths).
    """

    _prefix = ""
    _log = logging.getLogger(__name__)

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
        self._root_url = root_url_of(base_url)
        self._sleep = sleep
        self._api = TogetherHttp(
            self._root_url,
            api_key,
            timeout=timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            sleep=sleep,
            transport=transport,
            logger=self._log,
        )
        self._http = self._api.http  # the httpx client itself (tests change its headers and timeouts)

    @property
    def root_url(self) -> str:
        """The API root without a version, e.g. `https://api.together.xyz`."""
        return self._root_url

    def close(self) -> None:
        self._api.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        retries: int | None = None,
    ) -> httpx.Response:
        return self._api.send(method, self._prefix + path, params=params, json=json, retries=retries)

    def _json(self, response: httpx.Response) -> Any:
        return self._api.json(response)

    def _validate(self, model: type[_Model], body: Any, response: httpx.Response) -> _Model:
        """`body` (read from `response`) as `model`; an unexpected body raises ProviderError."""
        return self._api.parse(model, body, response)

    def _read(self, model: type[_Model], response: httpx.Response) -> _Model:
        """The response's JSON body as `model`."""
        return self._api.parse(model, self._api.json(response), response)

    def _quietly(self, read: Callable[[], _T]) -> _T | None:
        """A read whose failure only means "cannot tell": None then."""
        try:
            return read()
        except ProviderError as exc:
            self._log.warning("could not read back from Together: %s", exc)
            return None


def _rpc_error(raw: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(message, code name, details text) from `{"code": 6, "message": "...", "details": [...]}`.

    Like Together's CLI, the `detail` texts of `details` win over `message` when present.
    """
    message = raw.get("message") if isinstance(raw.get("message"), str) else None
    number = raw.get("code")
    code: str | None = None
    if isinstance(number, int) and not isinstance(number, bool):
        code = GRPC_CODES.get(number, str(number))
    elif isinstance(number, str) and number:
        code = number
    texts = [
        d["detail"]
        for d in raw.get("details") or []
        if isinstance(d, dict) and isinstance(d.get("detail"), str) and d["detail"]
    ]
    details = "; ".join(texts) if texts else None
    return (details or message), code, details
