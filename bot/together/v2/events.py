"""Reading Together v2's events feed for replica startup phases (v2 reference §4.15).

`pod.startup_phase_changed` events name a replica and the phase it entered (PullingImage → Starting →
LoadingWeights → StartupComplete). Which field carries the phase is not documented (the SDK's type has
no `phase`): it is read from `phase` when present, else `reason`, else the first phase named in `message`.
"""

from __future__ import annotations

import re

from bot.domain.provider import PhaseChange
from bot.together.v2.models import EndpointEvent

STARTUP_EVENT = "pod.startup_phase_changed"
PHASES = ("PullingImage", "Starting", "LoadingWeights", "StartupComplete")
EVENTS_PAGE = 500  # events per page: a whole startup of a few replicas fits in one
EVENTS_PAGES = 4  # pages read at most per call (a start of very many replicas shows its latest phases)
_PHASE_WORD = re.compile(r"\b(" + "|".join(PHASES) + r")\b")


def phase_of(event: EndpointEvent) -> str | None:
    for candidate in (event.phase, event.reason):
        if candidate in PHASES:
            return candidate
    found = _PHASE_WORD.search(event.message or "")
    return found.group(1) if found else None


def phase_change(event: EndpointEvent) -> PhaseChange | None:
    """The replica and phase an event reports; None for other events or one without a phase or replica."""
    if event.type != STARTUP_EVENT:
        return None
    phase = phase_of(event)
    replica = event.replica_id or event.subject_id
    if phase is None or not replica:
        return None
    return PhaseChange(replica=replica, phase=phase, at=event.created_at)
