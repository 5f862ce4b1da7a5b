"""The interface the domain needs from an endpoint provider (Together v1 today, v2 next).

The domain owns these types; `bot.together` implements them. Nothing here knows about HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol


@dataclass(frozen=True)
class HardwareOption:
    """One hardware configuration and its price per replica."""

    id: str  # e.g. "2x_nvidia_h100_80gb_sxm"
    gpu_type: str  # e.g. "h100-80gb"
    gpu_count: int
    gpu_memory_gb: float
    cents_per_minute: float  # per replica, for the whole configuration
    availability: str | None = None  # "available" | "insufficient" | "unavailable" | None (unknown)

    @property
    def dollars_per_hour(self) -> float:
        return round(self.cents_per_minute * 60 / 100, 2)  # as bot.domain.cost.estimate rounds it everywhere


@dataclass(frozen=True)
class LaunchSpec:
    """Everything sent to the provider to create one endpoint."""

    model: str
    hardware: str
    min_replicas: int
    max_replicas: int
    display_name: str | None = None
    inactive_timeout: int | None = None  # minutes; 0 disables auto-stop
    disable_prompt_cache: bool = False
    disable_speculative_decoding: bool = False
    start: bool = True  # False: create in STOPPED state


@dataclass(frozen=True)
class EndpointInfo:
    """An endpoint as the provider reports it. Fields a list call does not carry are None."""

    id: str
    name: str
    model: str
    # The provider's own spelling. v1: PENDING, STARTING, STARTED, STOPPING, STOPPED, ERROR. v2 (a deployment's
    # state without DEPLOYMENT_STATE_): PROVISIONING, SCALING, READY, DEGRADED, FAILED, STOPPING, STOPPED.
    state: str
    display_name: str | None = None
    hardware: str | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    owner: str | None = None
    type: str | None = None
    created_at: datetime | None = None
    # Added for Together's v2 API; v1 leaves them unset.
    api: str = "v1"  # which provider API reported it: "v1" or "v2"
    ready_replicas: int | None = None  # replicas serving now
    desired_replicas: int | None = None  # replicas the autoscaler wants now
    status_message: str | None = None  # the provider's explanation of the state (e.g. DEGRADED's cause)
    inactive_timeout: int | None = None  # auto-stop minutes in force (0: never), when the provider says
    deployment_id: str | None = None  # v2: the deployment the bot runs (its events are read while it starts)


@dataclass(frozen=True)
class PhaseChange:
    """One replica entering a startup phase, as the provider's event feed reports it (v2)."""

    replica: str
    phase: str  # Together's spelling: PullingImage, Starting, LoadingWeights, StartupComplete
    at: datetime | None = None


class StartupReporter(Protocol):
    """Reads replica startup phases from the provider's event feed (Together v2)."""

    def startup_phases(
        self, endpoint_id: str, deployment_id: str, since: datetime | None
    ) -> list[PhaseChange]:
        """The phase changes of the deployment's replicas since `since`, oldest first (one list call)."""
        ...


class EndpointProvider(Protocol):
    """What the bot asks of Together. Implementations raise ProviderError subclasses.

    Besides the calls, a provider declares what its API can do (read-only properties), so that the domain
    asks instead of guessing from the provider's type.
    """

    @property
    def api_version(self) -> str:
        """Which Together API this speaks: "v1" or "v2"."""
        ...

    @property
    def root_url(self) -> str:
        """The API root without a version, e.g. `https://api.together.xyz`."""
        ...

    @property
    def project_id(self) -> str | None:
        """The project the provider works in (v2); None where the API has no projects (v1)."""
        ...

    @property
    def renames(self) -> bool:
        """Whether an endpoint's display name can be changed. When not, the domain refuses a rename before
        any call and leaves it out of help."""
        ...

    @property
    def idempotent_create(self) -> bool:
        """Whether create_endpoint, asked again with the same spec, resumes an earlier attempt rather than
        making a second endpoint. Then the domain retries a lost or interrupted create by asking again
        instead of looking for what it may have made."""
        ...

    @property
    def startup_reporter(self) -> StartupReporter | None:
        """The reader of replica startup phases; None when the API reports none (v1)."""
        ...

    def list_hardware(self, model: str | None = None) -> list[HardwareOption]:
        """Hardware configurations; with a model, only those that fit it (with availability)."""
        ...

    def list_models(self) -> list[str]:
        """The ids of every model that can run on a dedicated endpoint (the whole catalogue, one listing)."""
        ...

    def create_endpoint(self, spec: LaunchSpec) -> EndpointInfo:
        """Create an endpoint. Called at most once per attempt; never retried on an ambiguous failure."""
        ...

    def get_endpoint(self, endpoint_id: str) -> EndpointInfo: ...

    def list_endpoints(self) -> list[EndpointInfo]:
        """The account's own dedicated endpoints (one call, whatever their number)."""
        ...

    def update_endpoint(
        self,
        endpoint_id: str,
        *,
        state: Literal["STARTED", "STOPPED"] | None = None,
        min_replicas: int | None = None,
        max_replicas: int | None = None,
        display_name: str | None = None,
        inactive_timeout: int | None = ...,
    ) -> EndpointInfo:
        """Change what the provider allows (state, replicas, display name, auto-stop); omitted stays."""
        ...

    def delete_endpoint(self, endpoint_id: str) -> None:
        """Delete an endpoint for good, waiting as long as that takes (scripts and tests; the bot does not)."""
        ...

    def advance_delete(self, endpoint_id: str) -> EndpointInfo | None:
        """Take the next step towards deleting the endpoint without waiting; None once it no longer exists.

        Some APIs (Together v2) must stop an endpoint before deleting it: then this starts the stop and
        returns the endpoint as it is now (e.g. STOPPING). Ask again once it is stopped; asking again is
        always safe. An endpoint unknown to the provider raises ProviderNotFound.
        """
        ...


# --- errors -------------------------------------------------------------------------------------

# The code of the ProviderBadRequest raised by a start that does not know which replica bounds to start
# with (a v2 deployment stopped outside the bot forgets them); the domain then gives the ones it recorded.
BOUNDS_UNKNOWN = "bounds_unknown"


@dataclass(eq=False)
class ProviderError(Exception):
    """A failure reported by (or on the way to) the provider. `message` is the provider's own words."""

    message: str
    status: int | None = None
    code: str | None = None
    type: str | None = None
    retry_after: float | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status else "no response"
        tag = f" [{self.code or self.type}]" if (self.code or self.type) else ""
        return f"{where}{tag}: {self.message}"

    # Whether the request may have taken effect at the provider even though it failed.
    ambiguous: bool = False


class ProviderBadRequest(ProviderError):
    """400/422: the request itself is wrong (invalid hardware, bad autoscaling, ...)."""


class ProviderAuthError(ProviderError):
    """401: the API key is missing or invalid."""


class ProviderPaymentRequired(ProviderError):
    """402: credit limit reached or balance too low."""


class ProviderForbidden(ProviderError):
    """403: not allowed, including `endpoints_v1_create_access_disabled`."""


class ProviderNotFound(ProviderError):
    """404: unknown endpoint, or a model with no dedicated hardware."""


class ProviderConflict(ProviderError):
    """409: conflicting state (duplicate name, stale etag, start while starting)."""


class ProviderRateLimited(ProviderError):
    """429 after the client's own retries ran out."""


class ProviderUnavailable(ProviderError):
    """5xx, timeouts, connection failures after the client's own retries ran out."""
