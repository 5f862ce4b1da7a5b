"""The two Together APIs the stack tests run against (v1 endpoints, v2 projects and deployments), described
so that a test can stay neutral about which one it talks to."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.simulator.core import TogetherSimulator
from bot.simulator.v1.api import DEFAULT_DURATIONS
from bot.simulator.v2.state import DEFAULT_V2_DURATIONS

BACKENDS = [b.strip() for b in os.environ.get("BOT_TEST_BACKENDS", "v1,v2").split(",") if b.strip()]

# A PATCH that changes a running endpoint, as a test compares it: (its updateMask, its body without etag).
Patch = tuple[str | None, dict[str, Any]]
V2_BOUNDS_MASK = "autoscaling.minReplicas,autoscaling.maxReplicas"
V2_LLAMA_8B_DEPLOYMENT = "meta-llama-3-1-8b-instruct-turbo"  # v2 names a deployment after its model


@dataclass(frozen=True)
class Backend:
    """What a stack test needs to know about a Together API to stay neutral about which one it talks to."""

    name: str
    hardware: str  # a `/endpoint create` alias both APIs offer
    start_states: tuple[str, ...]  # the states a launch or a start goes through, in order
    stop_states: tuple[str, ...]
    failed_state: str  # what Together reports for an endpoint that failed to come up
    start_steps: tuple[float, ...]  # seconds to advance to leave each start state but the last
    endpoints_path: str  # regex (fullmatch) for the collection creates go to
    endpoint_path: str  # regex for one endpoint and what lies under it
    id_prefix: str  # how Together's endpoint ids begin
    patch_path: str  # regex for where stop, start, scale and auto-stop changes go (v2: the deployment)
    etags: bool  # whether those PATCHes must carry the etag of what they change
    start_refusals: tuple[str, str]  # `start` refused in the first two start states: why, as the bot says it
    min_auto_stop: int  # the fewest idle minutes Together accepts for auto-stop (a smaller ask is raised)
    read: Callable[[TogetherSimulator], dict[str, dict[str, Any]]] = field(repr=False)
    force: Callable[[TogetherSimulator, str, str], None] = field(repr=False)
    patch_for: Callable[..., Patch] = field(repr=False)
    auto_stop_of: Callable[[dict[str, Any]], int] = field(repr=False)

    @property
    def started(self) -> str:
        return self.start_states[-1]

    @property
    def any_path(self) -> str:
        """Every endpoint path: the collection and each endpoint (for faults on all reads)."""
        return self.endpoints_path + "(/.*)?"

    def endpoints(self, sim: TogetherSimulator) -> dict[str, dict[str, Any]]:
        """The endpoints the simulator holds on this API, by id."""
        return self.read(sim)

    def creates(self, sim: TogetherSimulator) -> int:
        """How many create calls reached Together (v2: endpoint creations, not deployments)."""
        return sum(
            1
            for r in sim.requests
            if r.method == "POST" and re.fullmatch(self.endpoints_path, r.path.rstrip("/"))
        )

    def force_state(self, sim: TogetherSimulator, endpoint_id: str, state: str) -> None:
        """Change the endpoint's state from outside the bot, as the console would."""
        self.force(sim, endpoint_id, state)

    def patch(self, action: str, *values: int) -> Patch:
        """The PATCH the bot sends for `stop low high`, `start low high`, `scale low high` or `timeout minutes`.

        v2 has no state verbs: a stop sets 0/0 and remembers the bounds in the deployment's name, a start
        sends the bounds again; both name the fields they change in `updateMask`.
        """
        return self.patch_for(action, *values)


def _force_v2(sim: TogetherSimulator, endpoint_id: str, state: str) -> None:
    deployment = sim.v2_endpoints[endpoint_id]["_deployments"][0]
    sim.force_deployment_state(deployment["id"], state)


def _v1_patch(action: str, *values: int) -> Patch:
    if action == "stop":
        return None, {"state": "STOPPED"}
    if action == "start":
        return None, {"state": "STARTED"}
    if action == "scale":
        low, high = values
        return None, {"autoscaling": {"min_replicas": low, "max_replicas": high}}
    if action == "timeout":
        (minutes,) = values
        return None, {"inactive_timeout": minutes}
    raise ValueError(action)


def _v2_patch(action: str, *values: int) -> Patch:
    """For llama-8b (the lifecycle tests' model). `start` is that of a deployment stopped with its bounds
    kept (by auto-stop, or from outside as `force_state` plays it); the bot's own stop renames it."""
    if action == "stop":
        low, high = values
        return f"{V2_BOUNDS_MASK},name", {
            "autoscaling": {"minReplicas": 0, "maxReplicas": 0},
            "name": f"{V2_LLAMA_8B_DEPLOYMENT}-stopped-{low}-{high}",
        }
    if action in ("start", "scale"):
        low, high = values
        return V2_BOUNDS_MASK, {"autoscaling": {"minReplicas": low, "maxReplicas": high}}
    if action == "timeout":
        (minutes,) = values
        return "inactiveTimeout", {"inactiveTimeout": minutes}
    raise ValueError(action)


V1 = Backend(
    name="v1",
    hardware="h100",
    start_states=("PENDING", "STARTING", "STARTED"),
    stop_states=("STOPPING", "STOPPED"),
    failed_state="ERROR",
    start_steps=(DEFAULT_DURATIONS["PENDING"] + 1, DEFAULT_DURATIONS["STARTING"] + 1),
    endpoints_path=r"/v1/endpoints",
    endpoint_path=r"/v1/endpoints/[^/]+",
    id_prefix="endpoint-",
    patch_path=r"/v1/endpoints/[^/]+",
    etags=False,
    start_refusals=("is already starting (PENDING)", "is already starting (STARTING)"),
    min_auto_stop=1,
    read=lambda sim: sim.endpoints,
    force=lambda sim, endpoint_id, state: sim.force_state(endpoint_id, state),
    patch_for=_v1_patch,
    auto_stop_of=lambda endpoint: endpoint["inactive_timeout"],
)
V2 = Backend(
    name="v2",
    hardware="h100",
    start_states=("PROVISIONING", "SCALING", "READY"),
    stop_states=("STOPPING", "STOPPED"),
    failed_state="FAILED",
    start_steps=(DEFAULT_V2_DURATIONS["PROVISIONING"] + 1, DEFAULT_V2_DURATIONS["SCALING"] + 1),
    endpoints_path=r"/v2/projects/[^/]+/endpoints",
    endpoint_path=r"/v2/projects/[^/]+/endpoints/[^/]+",
    id_prefix="ep_",
    patch_path=r"/v2/projects/[^/]+/endpoints/[^/]+/deployments/[^/]+",
    etags=True,
    # SCALING is also how v2 reports a running deployment changing size, so the bot counts it as running.
    start_refusals=("is already starting (PROVISIONING)", "is already running (SCALING)"),
    min_auto_stop=30,  # v2 accepts 0 or 30-1440 minutes
    read=lambda sim: sim.v2_endpoints,
    force=_force_v2,
    patch_for=_v2_patch,
    auto_stop_of=lambda endpoint: endpoint["_deployments"][0].get("inactiveTimeout", 0),
)
BACKEND_BY_NAME = {"v1": V1, "v2": V2}
