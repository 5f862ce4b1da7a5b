"""The simulator's v2 records and the deployment state machine (v2 reference §5, §11 items 7-8).

States are derived lazily from the clock: `settle` applies every transition whose time has come, each at
its own moment, so no thread runs. Timings are knobs (`DEFAULT_V2_DURATIONS`, in simulated seconds).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PROVISIONING, SCALING, READY, DEGRADED, FAILED, STOPPING, STOPPED = (
    "PROVISIONING",
    "SCALING",
    "READY",
    "DEGRADED",
    "FAILED",
    "STOPPING",
    "STOPPED",
)
V2_STATES = frozenset({PROVISIONING, SCALING, READY, DEGRADED, FAILED, STOPPING, STOPPED})
DEFAULT_V2_DURATIONS: dict[str, float] = {PROVISIONING: 60.0, SCALING: 180.0, STOPPING: 30.0}
READINESS_BUDGET = 6 * 3600.0  # not READY within 6 hours -> FAILED (§5)
_STARTING = (PROVISIONING, SCALING, DEGRADED)

MESSAGES = {
    PROVISIONING: "Scheduling replicas",
    SCALING: "Scaling replicas",
    READY: "All replicas ready",
    STOPPING: "Draining replicas",
    STOPPED: "Stopped",
    DEGRADED: "Cannot place replicas: insufficient GPU capacity",
    FAILED: "Timed out waiting for readiness",
}


def new_etag() -> str:
    return secrets.token_hex(8)


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SimEndpoint:
    id: str
    bare: str
    created_at: float
    updated_at: float
    etag: str = field(default_factory=new_etag)
    visibility: str = "VISIBILITY_PRIVATE"
    traffic_split: list[dict[str, Any]] = field(default_factory=list)
    deployment_ids: list[str] = field(default_factory=list)
    last_inference: float | None = None


@dataclass
class SimDeployment:
    id: str
    endpoint_id: str
    name: str
    model: str  # pinned, with /revisions/
    config: str
    hardware: str
    min_replicas: int
    max_replicas: int
    created_at: float
    updated_at: float
    inactive_timeout: int = 0
    max_concurrent: str | None = None
    autoscaling_extra: dict[str, Any] = field(default_factory=dict)  # windows, metrics, policies as sent
    etag: str = field(default_factory=new_etag)
    state: str = STOPPED
    since: float = 0.0
    started_at: float = 0.0  # when the current attempt to become READY began (for the 6-hour budget)
    message: str = MESSAGES[STOPPED]
    ready: int = 0
    target: int = 0  # desiredReplicas
    last_activity: float = 0.0
    # For the events feed (`events`): every state entered (at, state, message), each cold start's
    # replica boot (at, replicas), and other events the routes recorded (scaled, updated).
    history: list[tuple[float, str, str]] = field(default_factory=list)
    boots: list[tuple[float, int]] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)

    def enter(self, state: str, at: float, message: str | None = None) -> None:
        if state == SCALING and self.state == PROVISIONING and self.target > 0:
            self.boots.append((at, self.target))  # replicas placed: each pulls, starts, loads, serves
        self.state, self.since = state, at
        self.message = message or MESSAGES[state]
        self.history.append((at, state, self.message))
        if state == READY:
            self.ready = self.target
            self.last_activity = max(self.last_activity, at)
        elif state in (STOPPED, FAILED):
            self.ready = 0
        if state in (STOPPING, STOPPED):
            self.target = 0

    def start(self, at: float) -> None:
        """Begin (or restart) provisioning toward `min_replicas`."""
        self.target = self.min_replicas
        self.started_at = at
        self.enter(PROVISIONING, at)

    def next_transition(
        self, durations: dict[str, float], has_capacity: bool, auto_stop: bool
    ) -> tuple[float, str] | None:
        deadline = self.started_at + READINESS_BUDGET
        step: tuple[float, str] | None = None
        if self.state == PROVISIONING:
            step = (self.since + durations[PROVISIONING], SCALING if has_capacity else DEGRADED)
        elif self.state == SCALING:
            step = (self.since + durations[SCALING], READY)
        elif self.state == STOPPING:
            return self.since + durations[STOPPING], STOPPED
        elif self.state == READY and auto_stop and self.inactive_timeout > 0:
            return max(self.since, self.last_activity) + self.inactive_timeout * 60, STOPPING
        if self.state in _STARTING and (step is None or step[0] > deadline):
            return deadline, FAILED
        return step

    def settle(self, now: float, durations: dict[str, float], has_capacity: bool, auto_stop: bool) -> None:
        while (step := self.next_transition(durations, has_capacity, auto_stop)) is not None and step[
            0
        ] <= now:
            self.enter(step[1], step[0])

    def change_bounds(self, low: int, high: int, at: float) -> None:
        """A PATCH of the autoscaling bounds: stop on 0/0, start from rest, or scale while running."""
        self.min_replicas, self.max_replicas = low, high
        if high == 0:
            if self.state in (PROVISIONING, SCALING, READY, DEGRADED):
                self.enter(STOPPING, at)
            elif self.state == FAILED:
                self.enter(STOPPED, at)
            return
        if self.state in (STOPPED, STOPPING, FAILED):
            self.start(at)
        elif self.state == READY:
            self.target = low
            if self.target != self.ready:
                self.enter(SCALING, at)
                self.started_at = at
        else:
            self.target = low

    def autoscaling(self) -> dict[str, Any]:
        return {**self.autoscaling_extra, "minReplicas": self.min_replicas, "maxReplicas": self.max_replicas}

    def status(self) -> dict[str, Any]:
        scheduled = 0 if self.state in (DEGRADED, STOPPED, FAILED) else self.target
        if self.state == PROVISIONING:
            scheduled = 0
        if self.state == STOPPING:
            scheduled = self.ready
        return {
            "state": f"DEPLOYMENT_STATE_{self.state}",
            "message": self.message,
            "readyReplicas": self.ready,
            "scheduledReplicas": scheduled,
            "details": {
                "region": [
                    {"region": "us-east-1", "scheduledReplicas": scheduled, "readyReplicas": self.ready}
                ]
                if scheduled or self.ready
                else []
            },
        }
