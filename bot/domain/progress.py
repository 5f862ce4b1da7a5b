"""A start's progress while Together brings a v2 deployment up (issue 13).

A first start takes minutes (placement, image pull, weight load, engine start). While a v2 endpoint is
PROVISIONING or SCALING, each tracker tick reads its deployment's startup events (one call per such
endpoint; steady endpoints cost nothing) and records the phase of the furthest replica and the replicas
ready of desired. The card shows it as `▓▓▓░ Loading weights · 1 of 2 ready · 6 min`, edited when it
changes but at most once every CARD_EVERY per card (Slack's `chat.update` rate); a change inside that
window waits for a later tick. The thread hears once when the first of several replicas serves; the
READY reply says when all do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.domain.events import FirstReplica
from bot.domain.model import EndpointRecord, LaunchRequest
from bot.domain.provider import EndpointInfo, EndpointProvider, PhaseChange, ProviderError, StartupReporter
from bot.store import StartupSeen, Store, say_first_serving, set_startup, take_card_turn

log = logging.getLogger(__name__)

TRANSITIONAL = frozenset({"PROVISIONING", "SCALING"})  # v2 states in which replicas start
PHASES = ("PullingImage", "Starting", "LoadingWeights", "StartupComplete")
PHASE_LABELS = {
    None: "Placing replicas",
    "PullingImage": "Pulling image",
    "Starting": "Starting engine",
    "LoadingWeights": "Loading weights",
    "StartupComplete": "Serving",
}
CARD_EVERY = timedelta(seconds=10)
# Events a little older than the start are read too: Together's clock and ours differ slightly.
CLOCK_SLACK = timedelta(seconds=5)


def furthest_phase(changes: list[PhaseChange]) -> str | None:
    """The phase of the replica furthest along (each replica's latest phase; changes oldest first)."""
    latest: dict[str, str] = {}
    for change in changes:
        if change.phase in PHASES:
            latest[change.replica] = change.phase
    if not latest:
        return None
    return max(latest.values(), key=PHASES.index)


def progress_bar(phase: str | None) -> str:
    done = PHASES.index(phase) + 1 if phase in PHASES else 0
    return "▓" * done + "░" * (len(PHASES) - done)


def minutes_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    return "under a minute" if minutes < 1 else f"{minutes} min"


def progress_line(endpoint: EndpointRecord) -> str | None:
    """`▓▓▓░ Loading weights · 1 of 2 ready · 6 min`, for a start being followed; None otherwise."""
    if endpoint.state not in TRANSITIONAL or endpoint.startup_desired is None:
        return None
    phase = endpoint.startup_phase
    elapsed = (
        (endpoint.startup_seen_at - endpoint.startup_since).total_seconds()
        if endpoint.startup_seen_at and endpoint.startup_since
        else 0.0
    )
    return (
        f"{progress_bar(phase)} {PHASE_LABELS.get(phase, phase)} · "
        f"{endpoint.startup_ready or 0} of {endpoint.startup_desired} ready · {minutes_text(elapsed)}"
    )


class StartupProgress:
    """Follows starts in progress for the tracker (see the module's docstring)."""

    def __init__(
        self,
        store: Store,
        provider: EndpointProvider,
        *,
        now: Callable[[], datetime],
        on_outbox: Callable[[], None],
    ) -> None:
        self.store = store
        self.provider = provider
        self.now = now
        self.on_outbox = on_outbox

    @property
    def reporter(self) -> StartupReporter | None:
        return self.provider.startup_reporter

    def follow(self, seen: list[tuple[EndpointRecord, EndpointInfo, LaunchRequest]]) -> int:
        """One tick: read the events of each endpoint that is starting (one call each) and record what
        changed. Returns the number of endpoints whose progress changed."""
        reporter = self.reporter
        if reporter is None:
            return 0
        changed = 0
        for endpoint, info, request in seen:
            if info.state not in TRANSITIONAL or info.deployment_id is None or endpoint.deleted_at:
                continue
            since = endpoint.startup_since or endpoint.state_changed_at
            try:
                changes = reporter.startup_phases(endpoint.id, info.deployment_id, since - CLOCK_SLACK)
            except ProviderError as exc:
                log.info("could not read the startup events of %s: %s", endpoint.id, exc)
                continue
            now = self.now()
            startup = StartupSeen(
                furthest_phase(changes), info.ready_replicas or 0, info.desired_replicas or 0
            )
            shown = StartupSeen(
                endpoint.startup_phase, endpoint.startup_ready or 0, endpoint.startup_desired or 0
            )
            if endpoint.startup_desired is not None and startup == shown:
                if endpoint.progress_pending:
                    self._card_if_due(endpoint, request, now)
                continue
            if self._record(endpoint, info, request, startup, since, now):
                changed += 1
        return changed

    def _record(
        self,
        endpoint: EndpointRecord,
        info: EndpointInfo,
        request: LaunchRequest,
        startup: StartupSeen,
        since: datetime,
        now: datetime,
    ) -> bool:
        with self.store.transaction() as tx:
            if not set_startup(tx, endpoint, startup, since=since, at=now):
                return False  # another tracker recorded it
            if startup.ready > 0 and startup.desired > 1 and say_first_serving(tx, endpoint.id, now):
                tx.reply(
                    request,
                    FirstReplica(
                        endpoint_id=endpoint.id,
                        name=info.name or endpoint.name,
                        ready_replicas=startup.ready,
                        desired_replicas=startup.desired,
                        elapsed_seconds=int((now - (endpoint.startup_since or since)).total_seconds()),
                    ),
                )
            if take_card_turn(tx, endpoint.id, at=now, every=CARD_EVERY):
                tx.notify(team_id=request.team_id, request_id=request.id, kind="card")
        self.on_outbox()
        return True

    def _card_if_due(self, endpoint: EndpointRecord, request: LaunchRequest, now: datetime) -> None:
        with self.store.transaction() as tx:
            if take_card_turn(tx, endpoint.id, at=now, every=CARD_EVERY):
                tx.notify(team_id=request.team_id, request_id=request.id, kind="card")
            else:
                return
        self.on_outbox()
