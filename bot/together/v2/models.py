"""Pydantic models of the Together v2 objects the v2 client reads (v2 reference §4).

Wire names are camelCase; unknown keys are ignored, since the v2 schema is still moving. Numbers the
server may leave out (proto3 zero values) default to 0 and lists to [] (reference §2).
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from bot.together.wire import LenientDatetime

STATE_PREFIX = "DEPLOYMENT_STATE_"


class _V2Object(BaseModel):
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True)


class Autoscaling(_V2Object):
    min_replicas: int = 0
    max_replicas: int = 0


class TrafficEntry(_V2Object):
    deployment_id: str
    weight: float = 0.0


class DeploymentSummary(_V2Object):
    """An item of `Endpoint.deployments` (§4.2): state, replicas and hardware without a second call."""

    id: str
    name: str = ""
    model: str = ""
    state: str = ""
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    desired_replicas: int = 0
    ready_replicas: int = 0
    hardware: str | None = None
    created_at: LenientDatetime = None


class Endpoint(_V2Object):
    """Answer of endpoint create, get, update and list (§4.1)."""

    id: str
    name: str
    project_id: str = ""
    etag: str = ""
    traffic_split: list[TrafficEntry] = Field(default_factory=list)
    deployments: list[DeploymentSummary] = Field(default_factory=list)
    created_at: LenientDatetime = None
    updated_at: LenientDatetime = None


class DeploymentStatus(_V2Object):
    state: str = ""
    message: str = ""
    ready_replicas: int = 0
    scheduled_replicas: int = 0


class Deployment(_V2Object):
    """Answer of deployment create, get and update (§4.3)."""

    id: str
    name: str = ""
    endpoint_id: str = ""
    etag: str = ""
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    config: str = ""
    model: str = ""
    hardware: str | None = None
    status: DeploymentStatus = Field(default_factory=DeploymentStatus)
    desired_replicas: int = 0
    inactive_timeout: int = 0
    created_at: LenientDatetime = None


class Headroom(_V2Object):
    relation: str = ""
    value: int | None = None


class Region(_V2Object):
    name: str = ""
    headroom: Headroom | None = None


class InstanceType(_V2Object):
    """An item of `GET /v2/public/inference-instance-types` (§4.11)."""

    id: str
    name: str = ""
    gpu_type: str = ""
    gpu_count: int = 1
    gpu_memory_gib: float = 0
    price_cents_per_hour: float
    regions: list[Region] = Field(default_factory=list)


class DeploymentProfile(_V2Object):
    """A certified (model, config) pair of a supported model (§4.12)."""

    profile_id: str = ""
    config: str = ""
    model: str = ""
    model_name: str = ""
    gpu_type: str = ""
    gpu_count: int = 0
    quantization: str = ""


class SupportedModel(_V2Object):
    """An item of `GET /v2/supported-models` (§4.12)."""

    id: str
    name: str
    base_model: str = ""
    deployment_profiles: list[DeploymentProfile] = Field(default_factory=list)


class Selector(_V2Object):
    key: str
    value: str


class Config(_V2Object):
    """`GET /v2/projects/{p}/configs/{cr}` (§4.13): selectors and the draft model of speculative decoding."""

    id: str
    project_id: str = ""
    selectors: list[Selector] = Field(default_factory=list)
    draft_model: str | None = None

    def selector(self, key: str) -> str | None:
        return next((s.value for s in self.selectors if s.key == key), None)


_Item = TypeVar("_Item", bound=BaseModel)


class Page(BaseModel, Generic[_Item]):
    """A cursor page `{"data": [...], "next_cursor": ...}` (§4.9); `nextCursor` is accepted too."""

    model_config = ConfigDict(extra="ignore")

    data: list[_Item] = Field(default_factory=list)
    next_cursor: str | None = Field(default=None, validation_alias=AliasChoices("next_cursor", "nextCursor"))


class WhoamiProject(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    slug: str = ""
    name: str = ""


class Whoami(BaseModel):
    """`GET /v3/whoami` (§2): a `project_api_key` names its project; other key types do not."""

    model_config = ConfigDict(extra="ignore")

    type: str = ""
    project: WhoamiProject | None = None


def bare_state(state: str) -> str:
    """`DEPLOYMENT_STATE_READY` -> `READY`."""
    return state.removeprefix(STATE_PREFIX) if state else "UNKNOWN"


class EndpointEvent(_V2Object):
    """An item of the events feed `GET …/endpoints/{ep}/events` (§4.15); newest first."""

    id: str = ""
    created_at: LenientDatetime = None
    type: str = ""
    deployment_id: str | None = None
    replica_id: str | None = None
    subject_id: str | None = None
    reason: str | None = None
    message: str | None = None
    phase: str | None = None  # not in the SDK's type; read when a server sends it
