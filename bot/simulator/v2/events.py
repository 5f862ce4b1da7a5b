"""The simulator's v2 events feed (v2 reference §4.15): what `GET …/endpoints/{ep}/events` answers.

Events are derived from the records at read time, on the simulator's clock: the endpoint's and its
deployments' creation, every state a deployment entered (`deployment.status_updated`), what the routes
logged (`deployment.scaled`, `deployment.updated`), and for each cold start every replica's startup
phases (`pod.startup_phase_changed`: PullingImage → Starting → LoadingWeights → StartupComplete).

A cold start's replicas boot during SCALING, a little apart: replica i of n starts pulling at
`since + 0.1·D·i/(n-1)` and serves `0.9·D` later (D: the SCALING duration), so the last one serves when
the deployment turns READY. While SCALING, `readyReplicas` counts the replicas that serve already.
Which field of a real event carries the phase is not documented: the simulator puts it in `reason`
and names it in `message`.
"""

from __future__ import annotations

from typing import Any

from bot.simulator.v2.catalog import sim_id
from bot.simulator.v2.state import SCALING, SimDeployment, SimEndpoint, rfc3339
from bot.simulator.v2.wire import V2Error, page

PHASES = ("PullingImage", "Starting", "LoadingWeights", "StartupComplete")
_PHASE_AT = (0.0, 0.3, 0.45, 1.0)  # when each phase begins, as a share of a replica's boot
PHASE_BUDGETS = {
    "PullingImage": "600s",
    "Starting": "300s",
    "LoadingWeights": "1200s",
    "StartupComplete": "0s",
}
LEVELS = ("LEVEL_DEBUG", "LEVEL_INFO", "LEVEL_WARN", "LEVEL_ERROR")


def replica_phases(boot_at: float, replicas: int, duration: float) -> list[list[tuple[float, str]]]:
    """Each replica's phases with the moment it entered them."""
    length = 0.9 * duration
    timelines = []
    for i in range(replicas):
        start = boot_at + (0.1 * duration * i / (replicas - 1) if replicas > 1 else 0.1 * duration)
        timelines.append(
            [(start + share * length, phase) for share, phase in zip(_PHASE_AT, PHASES, strict=True)]
        )
    return timelines


def booted(dep: SimDeployment, now: float, duration: float) -> int | None:
    """Replicas of the current cold start that serve by `now`; None when the deployment is not booting."""
    if dep.state != SCALING or not dep.boots or dep.boots[-1][0] != dep.since:
        return None
    at, replicas = dep.boots[-1]
    return sum(1 for timeline in replica_phases(at, replicas, duration) if timeline[-1][0] <= now)


def _event(
    ep: SimEndpoint, at: float, type_: str, message: str, dep: SimDeployment | None = None, **extra: Any
) -> dict[str, Any]:
    seed = f"{ep.id}|{dep.id if dep else ''}|{type_}|{at}|{extra.get('replicaId', '')}|{message}"
    body: dict[str, Any] = {
        "id": sim_id("evt_", seed),
        "createdAt": rfc3339(at),
        "endpointId": ep.id,
        "level": extra.pop("level", "LEVEL_INFO"),
        "source": "deployment-controller" if dep else "endpoint-controller",
        "sourceKind": "SOURCE_KIND_DEPLOYMENT" if dep else "SOURCE_KIND_ENDPOINT",
        "type": type_,
        "message": message,
        "_at": at,
    }
    if dep is not None:
        body["deploymentId"] = dep.id
        body["subjectId"] = extra.pop("subjectId", dep.id)
    return body | extra


def endpoint_events(
    ep: SimEndpoint, deps: list[SimDeployment], slug: str, now: float, duration: float
) -> list[dict[str, Any]]:
    """Every event of the endpoint up to `now`, newest first."""
    events = [
        _event(ep, ep.created_at, "endpoint.created", f"Endpoint {slug}/{ep.bare} created", name=ep.bare)
    ]
    for dep in deps:
        events.append(
            _event(
                ep, dep.created_at, "deployment.created", f"Deployment {dep.name} created", dep, name=dep.name
            )
        )
        for at, state, message in dep.history:
            level = "LEVEL_WARN" if state in ("DEGRADED", "FAILED") else "LEVEL_INFO"
            events.append(
                _event(
                    ep,
                    at,
                    "deployment.status_updated",
                    f"Deployment state changed to DEPLOYMENT_STATE_{state}: {message}",
                    dep,
                    level=level,
                )
            )
        for entry in dep.log:
            events.append(_event(ep, entry["at"], entry["type"], entry["message"], dep, **entry["extra"]))
        for boot_at, replicas in dep.boots:
            for i, timeline in enumerate(replica_phases(boot_at, replicas, duration)):
                replica = sim_id("rep_", f"{dep.id}|{boot_at}|{i}")
                for at, phase in timeline:
                    events.append(
                        _event(
                            ep,
                            at,
                            "pod.startup_phase_changed",
                            f"Replica {replica} entered {phase} (phase budget {PHASE_BUDGETS[phase]})",
                            dep,
                            replicaId=replica,
                            subjectId=replica,
                            reason=phase,
                            containerName="engine",
                            serviceType="model-deployment",
                        )
                    )
    # Newest first; of events at the same moment, the one that happened later (listed later) first.
    ordered = sorted(enumerate(events), key=lambda pair: (pair[1]["_at"], pair[0]), reverse=True)
    return [e for _, e in ordered if e["_at"] <= now]


def _csv(query: dict[str, str], *names: str) -> set[str]:
    raw = next((query[n] for n in names if query.get(n)), "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def filtered_page(events: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    """The list route's answer: the query's filters (`deploymentIds`, `types`, `sourceKinds`, `subjectId`,
    `minLevel`, `since`, `until`, comma-separated lists as the SDK sends them), then a cursor page."""
    deployments = _csv(query, "deploymentIds", "deployment_ids")
    types = _csv(query, "types")
    kinds = _csv(query, "sourceKinds", "source_kinds")
    subject = query.get("subjectId") or query.get("subject_id")
    level = (query.get("minLevel") or query.get("min_level") or "").strip().upper()
    if level and not level.startswith("LEVEL_"):
        level = f"LEVEL_{level}"
    if level and level not in LEVELS:
        raise V2Error("INVALID_ARGUMENT", f"invalid minLevel {query.get('minLevel')!r}")
    since, until = query.get("since"), query.get("until")
    kept = []
    for event in events:
        if deployments and event.get("deploymentId") not in deployments:
            continue
        if types and event["type"] not in types:
            continue
        if kinds and event["sourceKind"] not in kinds:
            continue
        if subject and event.get("subjectId") != subject:
            continue
        if level and LEVELS.index(event["level"]) < LEVELS.index(level):
            continue
        if since and event["createdAt"] < _normal(since):
            continue
        if until and event["createdAt"] > _normal(until):
            continue
        kept.append({k: v for k, v in event.items() if k != "_at"})
    return page(kept, query)


def _normal(moment: str) -> str:
    """An RFC 3339 time comparable as text with the feed's `…Z` times (seconds precision)."""
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        raise V2Error("INVALID_ARGUMENT", f"invalid time {moment!r}: use RFC 3339") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
