"""The v1 wire of the simulator: the endpoint record, Together's error body, request bodies checked as
Together checks them, and the JSON the v1 API answers with."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.simulator.catalog import HARDWARE_UPDATED_AT, SimHardware


@dataclass
class V1Endpoint:
    """One v1 endpoint as the simulator keeps it."""

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
    fail_as: str = "ERROR"


class V1Error(Exception):
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
class V1Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    body_is_json: bool
    now: float
    params: dict[str, str]

    def object_body(self) -> dict[str, Any]:
        if not self.body_is_json or not isinstance(self.body, dict):
            raise V1Error(400, "Request body must be a JSON object")
        return self.body


def rfc3339(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def error_payload(message: str, type_: str, code: str | None, param: str | None) -> bytes:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return json.dumps(body).encode()


def parse_bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise V1Error(400, f"{name} must be true or false", param=name)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_autoscaling(value: Any) -> tuple[int, int]:
    if not isinstance(value, dict):
        raise V1Error(
            400, "autoscaling must be an object with min_replicas and max_replicas", param="autoscaling"
        )
    for key in ("min_replicas", "max_replicas"):
        if key not in value:
            raise V1Error(400, f"autoscaling.{key} is required", param=f"autoscaling.{key}")
        if not is_int(value[key]) or value[key] < 0:
            raise V1Error(400, f"autoscaling.{key} must be an integer >= 0", param=f"autoscaling.{key}")
    low, high = value["min_replicas"], value["max_replicas"]
    if high < 1:
        raise V1Error(400, "autoscaling.max_replicas must be at least 1", param="autoscaling.max_replicas")
    if low > high:
        raise V1Error(
            400,
            "autoscaling.min_replicas must be less than or equal to autoscaling.max_replicas",
            param="autoscaling",
        )
    return low, high


def validate_inactive_timeout(body: dict[str, Any]) -> int | None:
    """Minutes from the body: omitted → None; null or 0 → 0 (auto-stop off)."""
    if "inactive_timeout" not in body:
        return None
    value = body["inactive_timeout"]
    if value is None:
        return 0
    if not is_int(value) or value < 0:
        raise V1Error(400, "inactive_timeout must be an integer >= 0 or null", param="inactive_timeout")
    return int(value)


def error_response(exc: V1Error) -> tuple[int, dict[str, str], bytes]:
    """Together's `{"error": {...}}` answer for a refusal."""
    return (
        exc.status,
        {"Content-Type": "application/json"},
        error_payload(exc.message, exc.type, exc.code, exc.param),
    )


# --- views ---------------------------------------------------------------------------------------


def public_json(ep: V1Endpoint) -> dict[str, Any]:
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
        "created_at": rfc3339(ep.created_at),
    }


def list_item_json(ep: V1Endpoint) -> dict[str, Any]:
    return {
        "object": "endpoint",
        "id": ep.id,
        "name": ep.name,
        "model": ep.model,
        "type": "dedicated",
        "owner": ep.owner,
        "state": ep.state,
        "created_at": rfc3339(ep.created_at),
    }


def hardware_json(hw: SimHardware, availability: str | None) -> dict[str, Any]:
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
