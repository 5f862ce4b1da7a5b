"""Wire rules of the simulator's v2 side: RPC errors, field masks, validation, filters, ordering, pages.

Kept apart from the routes (`api`) so that each file stays readable.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable
from typing import Any

from bot.simulator.v2.state import SimDeployment, SimEndpoint

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


def code_for_status(status: int, default: str) -> str:
    """The gRPC code name an HTTP status stands for (faults injected by status only)."""
    return _CODE_FOR_STATUS.get(status, default)


# Together's CLI names deployments `<model, "/"→"-">-<8 hex>` (e.g. `Qwen-Qwen3.5-9B-FP8-681fb1b5`), which
# Together accepts: letters of either case, digits, '.', '_' and '-', starting and ending alphanumeric.
NAME_RULE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
_CLAUSE = re.compile(r'^\s*(\w+)\s*(=|!=|<=|>=|<|>|:)\s*"([^"]*)"\s*$')
PAGE_DEFAULT, PAGE_MAX = 50, 1000


# Out of credit. Together answers 402 across its platform (v1 reference §6); no gRPC code maps to 402, so
# the v2 body carries FAILED_PRECONDITION: refused until the account is changed (credit added), not retried.
CREDIT_MESSAGE = "Credit limit exceeded"


class V2Error(Exception):
    """Raised inside a v2 route; becomes an RPC error body with the gRPC→HTTP status mapping (or `status`)."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.status = status or GRPC[code][1]


def credit_exhausted() -> V2Error:
    return V2Error("FAILED_PRECONDITION", CREDIT_MESSAGE, status=402)


class Call:
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


def validate_autoscaling(
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


def validate_timeout(value: Any) -> int:
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or not (value == 0 or 30 <= value <= 1440):
        raise V2Error(
            "INVALID_ARGUMENT", "inactiveTimeout must be 0 (disabled) or between 30 and 1440 minutes"
        )
    return value


def validate_split(value: Any, ep: SimEndpoint) -> list[dict[str, Any]]:
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


def int64(value: Any) -> str | None:
    """int64 fields travel as strings (proto3 JSON)."""
    if value is None:
        return None
    if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
        raise V2Error("INVALID_ARGUMENT", f"{value!r} is not an integer")
    return str(int(value))


def filter_items(items: list[dict[str, Any]], query: dict[str, str], slug: str) -> list[dict[str, Any]]:
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


def order_items(items: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
    text = (query.get("orderBy") or query.get("order_by") or "created_at").strip().split()
    key = {"created_at": "createdAt", "updated_at": "updatedAt"}.get(text[0] if text else "")
    if key is None or (len(text) > 1 and text[1].lower() not in ("asc", "desc")) or len(text) > 2:
        raise V2Error("INVALID_ARGUMENT", "orderBy must be created_at or updated_at, optionally asc or desc")
    return sorted(
        items, key=lambda item: item.get(key, ""), reverse=len(text) > 1 and text[1].lower() == "desc"
    )


def page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
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
