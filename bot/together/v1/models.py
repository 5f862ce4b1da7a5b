"""Pydantic models of the Together v1 objects the client reads (reference §4, §6).

They ignore unknown keys, since Together adds fields without notice, and convert to the domain's types.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from bot.domain.provider import EndpointInfo, HardwareOption
from bot.together.wire import LenientDatetime


class _ApiObject(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Autoscaling(_ApiObject):
    min_replicas: int
    max_replicas: int


class DedicatedEndpoint(_ApiObject):
    """Answer of create, retrieve and update (§4.1)."""

    object: str = "endpoint"
    id: str
    name: str
    display_name: str | None = None
    model: str
    hardware: str
    type: str = "dedicated"
    owner: str | None = None
    state: str
    autoscaling: Autoscaling
    created_at: LenientDatetime = None

    def to_info(self) -> EndpointInfo:
        return EndpointInfo(
            id=self.id,
            name=self.name,
            model=self.model,
            state=self.state,
            display_name=self.display_name,
            hardware=self.hardware,
            min_replicas=self.autoscaling.min_replicas,
            max_replicas=self.autoscaling.max_replicas,
            owner=self.owner,
            type=self.type,
            created_at=self.created_at,
        )


class ListEndpoint(_ApiObject):
    """An item of `GET /v1/endpoints` (§4.2): no display name, hardware or autoscaling."""

    object: str = "endpoint"
    id: str | None = None
    name: str
    model: str
    type: str
    owner: str | None = None
    state: str
    created_at: LenientDatetime = None

    def to_info(self) -> EndpointInfo:
        return EndpointInfo(
            id=self.id or "",
            name=self.name,
            model=self.model,
            state=self.state,
            owner=self.owner,
            type=self.type,
            created_at=self.created_at,
        )


class EndpointList(_ApiObject):
    object: str = "list"
    data: list[ListEndpoint]


class HardwareSpec(_ApiObject):
    gpu_type: str
    gpu_link: str | None = None
    gpu_memory: float
    gpu_count: int


class EndpointPricing(_ApiObject):
    cents_per_minute: float


class HardwareAvailability(_ApiObject):
    status: str


class HardwareWithStatus(_ApiObject):
    """An item of `GET /v1/hardware` (§4.4); `availability` only comes with `?model=`."""

    object: str = "hardware"
    id: str
    pricing: EndpointPricing
    specs: HardwareSpec
    availability: HardwareAvailability | None = None
    updated_at: LenientDatetime = None

    def to_option(self) -> HardwareOption:
        return HardwareOption(
            id=self.id,
            gpu_type=self.specs.gpu_type,
            gpu_count=self.specs.gpu_count,
            gpu_memory_gb=self.specs.gpu_memory,
            cents_per_minute=self.pricing.cents_per_minute,
            availability=self.availability.status if self.availability else None,
        )


class HardwareList(_ApiObject):
    object: str = "list"
    data: list[HardwareWithStatus]


class ModelInfo(_ApiObject):
    """An item of `GET /v1/models` (§10.1); only the id matters to the bot."""

    id: str


class ModelList(_ApiObject):
    """`GET /v1/models` answers a bare array; the client wraps it as `{"data": [...]}` to read it."""

    data: list[ModelInfo]
