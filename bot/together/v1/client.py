"""`TogetherClient`: the Together v1 dedicated-endpoint API over httpx, as an `EndpointProvider`.

Retries and error mapping live in `TogetherHttp` (shared with the v2 client): reads and idempotent writes
are retried on 429, 5xx and transport failures; a create (POST) is retried only on 429 or when the request
certainly never reached Together.
"""

from __future__ import annotations

import logging
from typing import Any, Literal
from urllib.parse import quote

import httpx

from bot.domain.provider import EndpointInfo, HardwareOption, LaunchSpec, StartupReporter
from bot.together.http import OMITTED, TogetherApiClient, _Omitted
from bot.together.v1.models import DedicatedEndpoint, EndpointList, HardwareList, ModelList

log = logging.getLogger(__name__)


class TogetherClient(TogetherApiClient):
    """Typed access to Together's v1 dedicated endpoints; raises `ProviderError` subclasses."""

    api_version = "v1"
    project_id: str | None = None  # v1 has no projects
    renames = True
    idempotent_create = False  # a second create makes a second endpoint
    startup_reporter: StartupReporter | None = None  # v1 has no events feed
    _prefix = "/v1"
    _log = log

    def __repr__(self) -> str:
        return f"TogetherClient(root_url={self._root_url!r})"

    # --- EndpointProvider ----------------------------------------------------------------------

    def list_hardware(self, model: str | None = None) -> list[HardwareOption]:
        """`GET /v1/hardware`; with a model, only the configurations that fit it, with availability."""
        params = {"model": model} if model else None
        response = self._send("GET", "/hardware", params=params)
        body = self._json(response)
        if isinstance(body, list):  # tolerate a bare array
            body = {"object": "list", "data": body}
        hardware = self._validate(HardwareList, body, response)
        return [item.to_option() for item in hardware.data]

    def list_models(self) -> list[str]:
        """`GET /v1/models?dedicated=true`: the ids of the models a dedicated endpoint can serve."""
        response = self._send("GET", "/models", params={"dedicated": "true"})
        body = self._json(response)
        if isinstance(body, dict):  # tolerate a list wrapped as `{"data": [...]}`
            body = body.get("data")
        listing = self._validate(ModelList, {"data": body if isinstance(body, list) else []}, response)
        return [item.id for item in listing.data if item.id]

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
        listing = self._validate(EndpointList, self._json(response), response)
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
        """`DELETE /v1/endpoints/{id}`: permanent, and immediate (v1 stops a running endpoint itself)."""
        self._send("DELETE", _endpoint_path(endpoint_id))

    def advance_delete(self, endpoint_id: str) -> EndpointInfo | None:
        """v1 deletes in one call, whatever the state: the endpoint is gone when this returns."""
        self.delete_endpoint(endpoint_id)
        return None

    # --- plumbing ------------------------------------------------------------------------------

    def _endpoint(self, response: httpx.Response) -> EndpointInfo:
        return self._read(DedicatedEndpoint, response).to_info()


def _endpoint_path(endpoint_id: str) -> str:
    if not endpoint_id:
        raise ValueError("endpoint_id is empty")
    return f"/endpoints/{quote(endpoint_id, safe='')}"
