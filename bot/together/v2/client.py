"""`TogetherV2Client`: Together's v2 "dedicated model inference" API as an `EndpointProvider`.

One bot endpoint is one v2 endpoint with one deployment and a traffic split to it (v2 reference §1, §7).
`EndpointInfo.id` is the endpoint id (`ep_…`), `name` its qualified name (the inference `model`),
`display_name` its bare name, `state` the deployment's state without `DEPLOYMENT_STATE_`, and `hardware`
the bot's v1-style id for the deployment's GPUs (see `hardware`).

v2 has no start/stop verbs and forgets the replica bounds on a stop (0/0). This client remembers them in
the deployment's own name: a stopped deployment is renamed `<base>-stopped-<min>-<max>` in the same PATCH
that sets 0/0, and a start restores both. Explicit bounds passed to `update_endpoint` always win.

Retries and error mapping are `TogetherHttp`'s, as for v1.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from bot.domain.provider import (
    EndpointInfo,
    HardwareOption,
    LaunchSpec,
    PhaseChange,
    ProviderBadRequest,
    ProviderConflict,
    ProviderError,
    ProviderNotFound,
    StartupReporter,
)
from bot.together.http import OMITTED, TogetherApiClient, _Omitted
from bot.together.v2.catalogue import CATALOGUE_TTL, Catalogue
from bot.together.v2.events import EVENTS_PAGE, EVENTS_PAGES, STARTUP_EVENT, phase_change
from bot.together.v2.hardware import (
    family_of,
    option_for,
)
from bot.together.v2.mapping import (
    AUTOSCALING_MASK,
    ZERO,
    bare_name,
    check_same_launch,
    choose_profile,
    deployment_name_for,
    endpoint_info,
    endpoint_name_for,
    own_deployment,
    plan_update,
    stopped_name,
    v2_inactive_timeout,
)
from bot.together.v2.models import (
    Config,
    Deployment,
    DeploymentProfile,
    Endpoint,
    EndpointEvent,
    InstanceType,
    Page,
    SupportedModel,
    bare_state,
)

log = logging.getLogger(__name__)

STOP_WAIT = 600.0  # how long delete_endpoint (the waiting form) waits for a deployment to reach STOPPED
STOP_POLL = 5.0
PAGE_LIMIT = 100

_Model = TypeVar("_Model", bound=BaseModel)


class TogetherV2Client(TogetherApiClient):
    """Typed access to Together's v2 dedicated inference in one project; raises `ProviderError` subclasses."""

    api_version = "v2"
    _log = log
    # Creating again with the same spec adopts and completes an earlier attempt (names are unique).
    idempotent_create = True
    renames = False  # an endpoint's name is its inference model string, fixed at creation

    def __init__(
        self,
        base_url: str,
        api_key: str,
        project_id: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        catalogue_ttl: float = CATALOGUE_TTL,
        stop_wait: float = STOP_WAIT,
        stop_poll: float = STOP_POLL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not project_id or not project_id.strip():
            raise ValueError("project_id is empty: the v2 API is project-scoped")
        super().__init__(
            base_url,
            api_key,
            timeout=timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            sleep=sleep,
            transport=transport,
        )
        self._project_id = project_id.strip()
        self._stop_wait = stop_wait
        self._stop_poll = stop_poll
        self._catalogue = Catalogue(self._supported_models, ttl=catalogue_ttl, monotonic=monotonic)

    @property
    def project_id(self) -> str:
        return self._project_id

    @property
    def startup_reporter(self) -> StartupReporter:
        """This client: it reads replica startup phases from the events feed (`startup_phases`)."""
        return self

    def __repr__(self) -> str:
        return f"TogetherV2Client(root_url={self._root_url!r}, project_id={self._project_id!r})"

    # --- EndpointProvider ----------------------------------------------------------------------

    def list_hardware(self, model: str | None = None) -> list[HardwareOption]:
        """Instance types with prices; with a model, only the GPU type and count it has certified configs for.

        A model outside the v2 catalogue raises ProviderNotFound.
        """
        if model is None:
            instances = self._instance_types()
            pairs = [(i.gpu_count, family_of(i.gpu_type or i.name.split("x", 1)[-1])) for i in instances]
        else:
            entry = self._catalogue.model(model)
            instances = self._instance_types()
            pairs = [(p.gpu_count, family_of(p.gpu_type)) for p in entry.deployment_profiles]
        options: list[HardwareOption] = []
        for count, family in dict.fromkeys(pairs):
            option = option_for(family, count, instances)
            if option is None:
                log.warning("no v2 instance type prices %dx %s; leaving it out", count, family)
                continue
            options.append(option)
        return options

    def list_models(self) -> list[str]:
        """The models of Together's v2 catalogue for dedicated deployments, read afresh."""
        return [entry.name for entry in self._catalogue.models(refresh=True) if entry.name]

    def create_endpoint(self, spec: LaunchSpec) -> EndpointInfo:
        """Endpoint, deployment, traffic split (reference §6.1), idempotent by endpoint name.

        A 409 on the name means an earlier attempt made the endpoint: it is adopted and the missing steps
        are completed. After an unanswered step the endpoint is read again and the sequence resumes.
        """
        profile = self._choose_profile(spec)
        bare = endpoint_name_for(spec)
        created_here = False
        try:
            endpoint = self._read(Endpoint, self._send("POST", self._path("endpoints"), json={"name": bare}))
            created_here = True
        except ProviderConflict:
            endpoint = self._find_by_name_or_raise(bare)
        except ProviderError as exc:
            if not exc.ambiguous:
                raise
            found = self._quietly(lambda: self._find_by_name(bare))
            if found is None:
                raise
            endpoint = found
        try:
            return self._finish_create(endpoint, spec, profile, created_here)
        except ProviderError as exc:
            if not exc.ambiguous:
                raise
            log.warning("v2 create of %s: %s; reading the endpoint and resuming", bare, exc)
            again = self._quietly(lambda: self._get_endpoint(endpoint.id))
            if again is None:
                raise
            return self._finish_create(again, spec, profile, created_here=False)

    def get_endpoint(self, endpoint_id: str) -> EndpointInfo:
        """The endpoint and its deployment (two reads: the deployment carries the state's explanation)."""
        endpoint = self._get_endpoint(endpoint_id)
        summary = own_deployment(endpoint)
        deployment = self._get_deployment(endpoint.id, summary.id) if summary else None
        return self._info(endpoint, deployment)

    def list_endpoints(self) -> list[EndpointInfo]:
        """The project's endpoints with their deployments' states: one paginated list, however many there are."""
        return [self._info(endpoint) for endpoint in self._pages(self._path("endpoints"), Endpoint)]

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
        """Stop (0/0), start (the remembered or given bounds), scale, or change auto-stop, on the deployment.

        PATCHes carry `updateMask` and the deployment's `etag`; a stale etag (409) is retried once after
        reading the deployment again. `display_name` cannot change on v2 (the endpoint name is the
        inference model string, documented as immutable) and is refused without a call.
        """
        if display_name is not None:
            raise ProviderBadRequest(
                message="Together's v2 API has no display name, and an endpoint's name (its inference model "
                "string) cannot be changed.",
                code="rename_unsupported",
            )
        if state not in (None, "STARTED", "STOPPED"):
            raise ValueError(f"state must be STARTED or STOPPED, not {state!r}")
        if state is None and min_replicas is None and max_replicas is None and inactive_timeout is OMITTED:
            raise ValueError("update_endpoint needs at least one field to change")
        endpoint = self._get_endpoint(endpoint_id)
        summary = own_deployment(endpoint)
        if summary is None:
            raise ProviderConflict(
                message=f"Endpoint {endpoint.name} has no deployment to start, stop or scale.",
                code="no_deployment",
            )
        for attempt in (1, 2):
            deployment = self._get_deployment(endpoint.id, summary.id)
            body, mask = plan_update(deployment, state, min_replicas, max_replicas, inactive_timeout)
            if not mask:
                return self._info(endpoint, deployment)
            try:
                deployment = self._patch_deployment(deployment, body, mask)
            except ProviderConflict as exc:
                if attempt == 2:
                    raise
                log.info("deployment %s changed meanwhile (%s); reading it again", deployment.id, exc)
                continue
            return self._info(endpoint, deployment)
        raise AssertionError("unreachable")

    def startup_phases(
        self, endpoint_id: str, deployment_id: str, since: datetime | None
    ) -> list[PhaseChange]:
        """The deployment's `pod.startup_phase_changed` events since `since`, oldest first.

        One list call without retries (the feed is newest first; a page holds a whole startup's events),
        following `next_cursor` only for a startup with more than EVENTS_PAGE of them (EVENTS_PAGES at most)."""
        params = {
            "deploymentIds": deployment_id,
            "types": STARTUP_EVENT,
            "limit": str(EVENTS_PAGE),
        }
        if since is not None:
            params["since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        path = self._path("endpoints", endpoint_id, "events")
        events: list[EndpointEvent] = []
        for _ in range(EVENTS_PAGES):
            # No retries: a failed read only leaves the card as it is until the next tick.
            response = self._send("GET", path, params=params, retries=0)
            page = self._read(Page[EndpointEvent], response)
            events += page.data
            if not page.next_cursor:
                break
            params = {**params, "after": page.next_cursor}
        changes = [c for c in map(phase_change, events) if c is not None]
        return sorted(changes, key=lambda c: c.at or datetime.min.replace(tzinfo=UTC))

    def advance_delete(self, endpoint_id: str) -> EndpointInfo | None:
        """One step towards deleting the endpoint, without waiting (§6.4): None once it is gone.

        A deployment that still has replicas is scaled to 0/0 first and the endpoint, as it is then, is
        returned: ask again once it is STOPPED. Stopped (or failed) deployments are deleted, then the
        endpoint. Asking again is always safe: each step looks before it acts.
        """
        endpoint = self._get_endpoint(endpoint_id)
        waiting: Deployment | None = None
        for summary in endpoint.deployments:
            left = self._stop_or_delete(endpoint.id, summary.id)
            waiting = waiting or left
        if waiting is not None:
            return self._info(endpoint, waiting)
        with contextlib.suppress(ProviderNotFound):  # deleted meanwhile: the result wanted
            self._send("DELETE", self._path("endpoints", endpoint.id))
        return None

    def delete_endpoint(self, endpoint_id: str) -> None:
        """Delete and wait: the steps of `advance_delete` until the endpoint is gone (bounded by stop_wait)."""
        waited = 0.0
        while (left := self.advance_delete(endpoint_id)) is not None:
            if waited >= self._stop_wait:
                raise ProviderConflict(
                    message=f"Endpoint {left.name} was still {left.state} after {int(waited)} s; it can be "
                    "deleted once STOPPED. Try again shortly.",
                    code="still_stopping",
                )
            self._sleep(self._stop_poll)
            waited += self._stop_poll

    # --- create steps --------------------------------------------------------------------------

    def _choose_profile(self, spec: LaunchSpec) -> DeploymentProfile:
        """The certified profile for the spec's model and GPUs (reference §7.1)."""
        return choose_profile(self._catalogue.model(spec.model), spec, self._config)

    def _finish_create(
        self, endpoint: Endpoint, spec: LaunchSpec, profile: DeploymentProfile, created_here: bool
    ) -> EndpointInfo:
        summary = own_deployment(endpoint)
        posted: Deployment | None = None
        if summary is not None:
            check_same_launch(endpoint, summary, profile, spec)
            deployment_id = summary.id
        else:
            try:
                posted = self._post_deployment(endpoint.id, spec, profile)
                deployment_id = posted.id
            except ProviderConflict:  # an earlier attempt's deployment: adopt it
                endpoint = self._get_endpoint(endpoint.id)
                summary = own_deployment(endpoint)
                if summary is None:
                    raise
                deployment_id = summary.id
            except ProviderError as exc:
                if created_here and not exc.ambiguous:
                    self._roll_back(endpoint)
                raise
        # the posted deployment carries what Together applied (e.g. an auto-stop raised to its minimum)
        return self._info(self._route(endpoint, deployment_id), posted)

    def _post_deployment(self, endpoint_id: str, spec: LaunchSpec, profile: DeploymentProfile) -> Deployment:
        base = deployment_name_for(spec.model)
        low, high = spec.min_replicas, spec.max_replicas
        body: dict[str, Any] = {
            "name": base if spec.start else stopped_name(base, low, high),
            "model": profile.model,
            "config": profile.config,
            "autoscaling": {"minReplicas": low, "maxReplicas": high} if spec.start else ZERO,
            "inactiveTimeout": v2_inactive_timeout(spec.inactive_timeout),
        }
        return self._read(
            Deployment, self._send("POST", self._path("endpoints", endpoint_id, "deployments"), json=body)
        )

    def _route(self, endpoint: Endpoint, deployment_id: str) -> Endpoint:
        """Give the deployment the endpoint's live traffic (PATCH trafficSplit with mask and etag)."""
        for attempt in (1, 2):
            if any(e.deployment_id == deployment_id and e.weight > 0 for e in endpoint.traffic_split):
                return endpoint
            split = [
                {"deploymentId": e.deployment_id, "weight": e.weight}
                for e in endpoint.traffic_split
                if e.deployment_id != deployment_id
            ] + [{"deploymentId": deployment_id, "weight": 1}]
            try:
                response = self._send(
                    "PATCH",
                    self._path("endpoints", endpoint.id),
                    params={"updateMask": "trafficSplit"},
                    json={"etag": endpoint.etag, "trafficSplit": split},
                )
            except ProviderConflict:
                if attempt == 2:
                    raise
                endpoint = self._get_endpoint(endpoint.id)
                continue
            return self._read(Endpoint, response)
        raise AssertionError("unreachable")

    def _roll_back(self, endpoint: Endpoint) -> None:
        """Delete an endpoint this call created when its deployment was refused (as Together's CLI does)."""
        try:
            self._send("DELETE", self._path("endpoints", endpoint.id))
        except ProviderError as exc:
            log.warning("could not delete %s after its deployment was refused: %s", endpoint.id, exc)

    def _find_by_name(self, bare: str) -> Endpoint | None:
        params = {"filter": f'name="{bare}"', "limit": str(PAGE_LIMIT)}
        for endpoint in self._pages(self._path("endpoints"), Endpoint, params):
            if bare_name(endpoint.name) == bare:
                return endpoint
        return None

    def _find_by_name_or_raise(self, bare: str) -> Endpoint:
        found = self._find_by_name(bare)
        if found is None:
            raise ProviderConflict(
                message=f"Together says an endpoint named {bare} exists, but the project has none by that name.",
                code="ALREADY_EXISTS",
            )
        return found

    # --- lifecycle steps -----------------------------------------------------------------------

    def _patch_deployment(self, deployment: Deployment, body: dict[str, Any], mask: list[str]) -> Deployment:
        path = self._path("endpoints", deployment.endpoint_id, "deployments", deployment.id)
        payload = {**body, "etag": deployment.etag} if deployment.etag else body
        response = self._send("PATCH", path, params={"updateMask": ",".join(mask)}, json=payload)
        return self._read(Deployment, response)

    def _stop_or_delete(self, endpoint_id: str, deployment_id: str) -> Deployment | None:
        """Delete a stopped (or failed) deployment; scale a running one to 0/0 and return it as it is then."""
        try:
            deployment = self._get_deployment(endpoint_id, deployment_id)
        except ProviderNotFound:
            return None
        for attempt in (1, 2):
            if bare_state(deployment.status.state) in ("STOPPED", "FAILED"):
                break
            if deployment.autoscaling.max_replicas == 0 and deployment.autoscaling.min_replicas == 0:
                return deployment  # stopping already: nothing to do but wait
            try:
                deployment = self._patch_deployment(
                    deployment, {"autoscaling": ZERO}, AUTOSCALING_MASK.split(",")
                )
            except ProviderConflict:
                if attempt == 2:
                    raise
                deployment = self._get_deployment(endpoint_id, deployment_id)
                continue
            if bare_state(deployment.status.state) not in ("STOPPED", "FAILED"):
                return deployment
        path = self._path("endpoints", endpoint_id, "deployments", deployment_id)
        try:
            self._send("DELETE", path, params={"etag": deployment.etag} if deployment.etag else None)
        except ProviderNotFound:
            pass
        except ProviderConflict:  # changed between the read and the delete: once more, without the etag
            self._send("DELETE", path)
        return None

    # --- reads ---------------------------------------------------------------------------------

    def _get_endpoint(self, endpoint_id: str) -> Endpoint:
        return self._read(Endpoint, self._send("GET", self._path("endpoints", endpoint_id)))

    def _get_deployment(self, endpoint_id: str, deployment_id: str) -> Deployment:
        path = self._path("endpoints", endpoint_id, "deployments", deployment_id)
        return self._read(Deployment, self._send("GET", path))

    def _config(self, resource: str) -> Config | None:
        """A config by resource name `projects/{owner}/configs/{cr}`, read under its owner's project."""
        if not resource.startswith("projects/"):
            return None
        return self._read(Config, self._send("GET", "/v2/" + resource))

    def _instance_types(self) -> list[InstanceType]:
        return list(self._pages("/v2/public/inference-instance-types", InstanceType))

    def _supported_models(self) -> list[SupportedModel]:
        """`GET /v2/supported-models?product=PRODUCT_DEDICATED`, all pages (the catalogue caches it)."""
        params = {"product": "PRODUCT_DEDICATED", "limit": str(PAGE_LIMIT)}
        return list(self._pages("/v2/supported-models", SupportedModel, params))

    def _info(self, endpoint: Endpoint, deployment: Deployment | None = None) -> EndpointInfo:
        return endpoint_info(endpoint, deployment, self._catalogue.model_name)

    # --- plumbing ------------------------------------------------------------------------------

    def _path(self, *parts: str) -> str:
        return "/".join([f"/v2/projects/{quote(self._project_id, safe='')}"] + [_segment(p) for p in parts])

    def _pages(self, path: str, item: type[_Model], params: dict[str, str] | None = None) -> Iterator[_Model]:
        """Every item of a cursor-paginated list, following `next_cursor`."""
        query = dict(params or {"limit": str(PAGE_LIMIT)})
        seen: set[str] = set()
        while True:
            response = self._send("GET", path, params=query)
            page = self._read(Page[item], response)  # type: ignore[valid-type]
            yield from page.data
            cursor = page.next_cursor
            if not cursor or cursor in seen:  # a repeated cursor would loop for ever
                return
            seen.add(cursor)
            query = {**query, "after": cursor}


def _segment(part: str) -> str:
    if not part:
        raise ValueError("an id in the path is empty")
    return quote(part, safe="")
