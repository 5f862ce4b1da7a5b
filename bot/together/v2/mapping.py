"""The pure half of the v2 client: names, stop markers, auto-stop minutes and the PATCH a change needs.

v2 has no start/stop verbs and forgets the replica bounds on a stop (0/0), so a stopped deployment is
renamed `<base>-stopped-<min>-<max>` in the same PATCH that sets 0/0; a start reads the bounds back from
there and restores the base name. Explicit bounds always win.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from bot.domain.provider import BOUNDS_UNKNOWN, EndpointInfo, LaunchSpec, ProviderBadRequest, ProviderConflict
from bot.together.http import OMITTED, _Omitted
from bot.together.v2.hardware import family_of, parse_v1_id, profile_matches, v1_id_for_v2_hardware
from bot.together.v2.models import (
    Config,
    Deployment,
    DeploymentProfile,
    DeploymentSummary,
    Endpoint,
    SupportedModel,
    bare_state,
)

NAME_LIMIT = 63  # v2 name rules are undocumented; lowercase [a-z0-9-], at most 63, is the safe choice
DEFAULT_INACTIVE_TIMEOUT = 60  # minutes: v1's default when the request leaves it out
INACTIVE_TIMEOUT_RANGE = (30, 1440)  # v2 accepts 0 (off) or these minutes
AUTOSCALING_MASK = "autoscaling.minReplicas,autoscaling.maxReplicas"  # leaves other autoscaling settings
_STOPPED_MARK = re.compile(r"^(?P<base>.+?)-stopped-(?P<min>\d+)-(?P<max>\d+)$")
ZERO = {"minReplicas": 0, "maxReplicas": 0}


def sanitise_name(text: str, limit: int = NAME_LIMIT, *, keep_distinct: bool = True) -> str:
    """A v2-safe name: lowercase `[a-z0-9-]`, at most `limit` long. Deterministic. With `keep_distinct`, a
    changed or shortened text gets a hash of the original, so two texts never end up with one name."""
    word = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]+", "-", text.lower())).strip("-")
    if not keep_distinct and word:
        return word[:limit].rstrip("-")
    if word == text and len(word) <= limit:
        return word
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    head = word[: limit - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}" if head else f"endpoint-{digest}"


def endpoint_name_for(spec: LaunchSpec) -> str:
    """The bare endpoint name for a launch: its display name (unique per request), made v2-safe."""
    if spec.display_name:
        return sanitise_name(spec.display_name)
    return sanitise_name(f"{spec.model.rsplit('/', 1)[-1]}-{spec.hardware}")


def deployment_name_for(model: str) -> str:
    """The deployment's base name, like Together's CLI: the model's name (without the random suffix)."""
    return sanitise_name(model.rsplit("/", 1)[-1], limit=40, keep_distinct=False)


def stopped_name(base: str, low: int, high: int) -> str:
    return f"{base}-stopped-{low}-{high}"


def stopped_bounds(name: str) -> tuple[int, int] | None:
    """The bounds a stopped deployment's name remembers; None when it remembers none."""
    match = _STOPPED_MARK.match(name.rsplit("/", 1)[-1])
    return (int(match["min"]), int(match["max"])) if match else None


def base_name(name: str) -> str:
    bare = name.rsplit("/", 1)[-1]
    match = _STOPPED_MARK.match(bare)
    return match["base"] if match else bare


def bare_name(name: str) -> str:
    """`slug/my-endpoint` -> `my-endpoint`."""
    return name.split("/", 1)[1] if "/" in name else name


def v2_inactive_timeout(minutes: int | None) -> int:
    """v1 auto-stop minutes in v2's range: None -> 60 (v1's default), 0 stays off, 1-29 -> 30, >1440 -> 1440."""
    if minutes is None:
        return DEFAULT_INACTIVE_TIMEOUT
    if minutes <= 0:
        return 0
    low, high = INACTIVE_TIMEOUT_RANGE
    return max(low, min(high, minutes))


def own_deployment(endpoint: Endpoint) -> DeploymentSummary | None:
    """The deployment that serves the endpoint: the routed one, else the first."""
    routed = {e.deployment_id for e in endpoint.traffic_split if e.weight > 0}
    for summary in endpoint.deployments:
        if summary.id in routed:
            return summary
    return endpoint.deployments[0] if endpoint.deployments else None


def plan_update(
    deployment: Deployment,
    state: str | None,
    min_replicas: int | None,
    max_replicas: int | None,
    inactive_timeout: int | None | _Omitted,
) -> tuple[dict[str, Any], list[str]]:
    """The PATCH body and update mask that bring `deployment` to what was asked; empty when it is there."""
    body: dict[str, Any] = {}
    mask: list[str] = []
    current = (deployment.autoscaling.min_replicas, deployment.autoscaling.max_replicas)
    stopped = current[1] == 0
    current_name = deployment.name.rsplit("/", 1)[-1]  # responses qualify it: slug/endpoint/deployment
    remembered = stopped_bounds(current_name)
    base = base_name(current_name)

    def wanted(fallback: tuple[int, int] | None) -> tuple[int, int] | None:
        low = min_replicas if min_replicas is not None else (fallback[0] if fallback else None)
        high = max_replicas if max_replicas is not None else (fallback[1] if fallback else None)
        return (low, high) if low is not None and high is not None else None

    if state == "STOPPED" or (state is None and stopped):
        keep = wanted(current if not stopped else remembered)
        if not stopped:
            body["autoscaling"] = dict(ZERO)
            mask += AUTOSCALING_MASK.split(",")
        if keep is not None and stopped_name(base, *keep) != current_name:
            body["name"] = stopped_name(base, *keep)
            mask.append("name")
    elif stopped:  # start
        bounds = wanted(remembered)
        if bounds is None:
            raise ProviderBadRequest(
                message=f"Deployment {deployment.name} is stopped and its previous replica bounds are not known; "
                "pass min_replicas and max_replicas to start it.",
                code=BOUNDS_UNKNOWN,
            )
        body["autoscaling"] = {"minReplicas": bounds[0], "maxReplicas": bounds[1]}
        mask += AUTOSCALING_MASK.split(",")
        if current_name != base:
            body["name"] = base
            mask.append("name")
    else:
        bounds = wanted(current)
        at_rest = bare_state(deployment.status.state) in ("FAILED", "STOPPED")
        if bounds is not None and (bounds != current or (state == "STARTED" and at_rest)):
            # Re-sending FAILED's bounds gives it a fresh readiness budget (reference §5); a deployment
            # its inactiveTimeout stopped keeps its bounds, and only sending them again starts it.
            body["autoscaling"] = {"minReplicas": bounds[0], "maxReplicas": bounds[1]}
            mask += AUTOSCALING_MASK.split(",")
    if inactive_timeout is not OMITTED:
        minutes = 0 if inactive_timeout is None else v2_inactive_timeout(inactive_timeout)
        if minutes != deployment.inactive_timeout:
            body["inactiveTimeout"] = minutes
            mask.append("inactiveTimeout")
    return body, mask


def check_same_launch(
    endpoint: Endpoint, summary: DeploymentSummary, profile: DeploymentProfile, spec: LaunchSpec
) -> None:
    """An adopted endpoint must hold this launch's model and GPUs, or the name belongs to something else."""
    same_model = unrevisioned(summary.model) == unrevisioned(profile.model) if summary.model else True
    hardware = v1_id_for_v2_hardware(summary.hardware)
    same_gpus = hardware is None or parse_v1_id(hardware) == parse_v1_id(spec.hardware)
    if not (same_model and same_gpus):
        raise ProviderConflict(
            message=f"An endpoint named {endpoint.name} already exists with another model or hardware.",
            code="ALREADY_EXISTS",
        )


def find_model(models: list[SupportedModel], wanted: str) -> SupportedModel | None:
    lowered = wanted.strip().lower()
    for match in (
        lambda m: m.name == wanted,
        lambda m: m.name.lower() == lowered,
        lambda m: any(p.model_name.lower() == lowered for p in m.deployment_profiles),
    ):
        found = next((m for m in models if match(m)), None)
        if found is not None:
            return found
    return None


def unrevisioned(resource: str) -> str:
    return resource.split("/revisions/", 1)[0]


def endpoint_info(
    endpoint: Endpoint, deployment: Deployment | None, model_name: Callable[[str], str]
) -> EndpointInfo:
    """The bot's view of a v2 endpoint and its deployment (read in full when given, else its summary);
    `model_name` turns a model resource name into the catalogue's name."""
    summary = own_deployment(endpoint)
    slug = endpoint.name.split("/", 1)[0] if "/" in endpoint.name else None
    common: dict[str, Any] = {
        "id": endpoint.id,
        "name": endpoint.name,
        "display_name": bare_name(endpoint.name),
        "owner": slug,
        "type": "dedicated",
        "created_at": endpoint.created_at,
        "api": "v2",
    }
    if summary is None:
        return EndpointInfo(
            model="", state="STOPPED", status_message="The endpoint has no deployment.", **common
        )
    name = deployment.name if deployment else summary.name
    autoscaling = deployment.autoscaling if deployment else summary.autoscaling
    low, high = autoscaling.min_replicas, autoscaling.max_replicas
    if high == 0:  # stopped: report the bounds a start restores, as v1 does
        low, high = stopped_bounds(name) or (low, high)
    return EndpointInfo(
        model=model_name(deployment.model if deployment else summary.model),
        state=bare_state(deployment.status.state if deployment else summary.state),
        hardware=v1_id_for_v2_hardware(deployment.hardware if deployment else summary.hardware),
        min_replicas=low,
        max_replicas=high,
        ready_replicas=deployment.status.ready_replicas if deployment else summary.ready_replicas,
        desired_replicas=deployment.desired_replicas if deployment else summary.desired_replicas,
        status_message=(deployment.status.message or None) if deployment else None,
        inactive_timeout=deployment.inactive_timeout if deployment else None,
        deployment_id=deployment.id if deployment else summary.id,
        **common,
    )


def choose_profile(
    entry: SupportedModel, spec: LaunchSpec, read_config: Callable[[str], Config | None]
) -> DeploymentProfile:
    """The model's certified profile for the spec's GPUs; tie-breaks per reference §7.1 step 3 (the configs
    of the candidates are read with `read_config` only when there is more than one)."""
    parsed = parse_v1_id(spec.hardware)
    candidates = [p for p in entry.deployment_profiles if parsed and profile_matches(p, *parsed)]
    if not candidates:
        fits = sorted({f"{p.gpu_count}x {family_of(p.gpu_type).upper()}" for p in entry.deployment_profiles})
        raise ProviderBadRequest(
            message=f"Hardware {spec.hardware} is not available for {spec.model} on Together's v2 API: "
            f"it has certified configs only for {', '.join(fits) or 'no hardware'}.",
            code="hardware_not_available",
        )
    if len(candidates) == 1:
        return candidates[0]
    configs = {p.config: read_config(p.config) for p in candidates if p.config}

    def rank(profile: DeploymentProfile) -> tuple[int, int, int]:
        config = configs.get(profile.config)
        drafts = bool(config and config.draft_model)
        balanced = bool(config and config.selector("optimization") == "balanced")
        quantised = bool(profile.quantization) and profile.quantization.lower() in spec.model.lower()
        return (int(drafts == spec.disable_speculative_decoding), int(not balanced), int(not quantised))

    return min(candidates, key=rank)  # ties keep catalogue order
