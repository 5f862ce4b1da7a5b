"""The tracker: asks Together for the state of every endpoint the bot launched and records changes.

One list call a tick, however many endpoints; a change is recorded once however many processes see it
(a compare-and-set), with its thread reply and card re-render in the same transaction, which the
publisher delivers. It also notices when Together stays unreachable, when a start progresses (v2), when
the ready replica count changes (v2) and when the account has a likely duplicate of a launch. Deletions
that wait for Together to stop an endpoint first (v2) are finished each tick too (`track`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from bot.domain.catalog import Catalog
from bot.domain.clock import Clock
from bot.domain.cost.meter import Meter
from bot.domain.cost.spend import Costs, bounds_of
from bot.domain.errors import NotFound
from bot.domain.events import Duplicate, Reachable, StateChanged, Unreachable
from bot.domain.model import EndpointRecord, LaunchRequest
from bot.domain.names import launch_spec
from bot.domain.progress import TRANSITIONAL, StartupProgress
from bot.domain.provider import EndpointInfo, EndpointProvider, ProviderError, ProviderNotFound
from bot.domain.states import (
    EXPLAINED,
    FAILED,
    GOING_DOWN,
    GONE,
    READY_TO_SERVE,
    SERVING,
    SETTLED,
    STOPPED,
)
from bot.logs import log_context
from bot.store import Seen, Store, ask_smoke_test, clear_startup

log = logging.getLogger(__name__)

# Together unreachable for this long is said once in each affected thread (and its recovery too).
UNREACHABLE_REPORT_AFTER = 300.0
# Endpoints not launched by the bot read per tick to learn their display names (a v1 list has none).
DUPLICATE_READS_PER_TICK = 5
# How long what a tracker tick saw answers `busy()` (the loop asks right after the tick).
BUSY_HINT_FRESH = 1.0


class Tracker:
    def __init__(
        self,
        store: Store,
        provider: EndpointProvider,
        catalog: Catalog,
        clock: Clock,
        costs: Costs,
        *,
        on_outbox: Callable[[], None] = lambda: None,
        on_came_up: Callable[[], None] = lambda: None,
        smoke_tests: bool = False,
        unreachable_report_after: float = UNREACHABLE_REPORT_AFTER,
    ) -> None:
        self.store = store
        self.provider = provider
        self.catalog = catalog
        self.clock = clock
        self.costs = costs
        self._on_outbox = on_outbox
        self._on_came_up = on_came_up  # an endpoint came up: its smoke test is due
        self.smoke_tests = smoke_tests  # ask for a smoke test when an endpoint comes up (bot/domain/smoke.py)
        self.unreachable_report_after = unreachable_report_after
        self._unreachable_since: float | None = None
        self._busy_hint: tuple[bool, float] | None = None  # what the last tick saw, and when
        self._ready: dict[str, int | None] = {}  # the ready replicas last recorded, by endpoint (v2)
        self._other_names: dict[str, str | None] = {}  # display names of endpoints the bot did not launch
        self._checked: dict[str, frozenset[str]] = {}  # other endpoint -> the endpoints it was compared with
        self.startup = StartupProgress(store, provider, now=lambda: self.clock.now(), on_outbox=on_outbox)

    def track_once(self) -> int:
        """Ask Together for every endpoint's state (one list call) and record what changed.

        The number of calls per tick does not grow with the number of endpoints: one list call, plus a
        read only for an endpoint missing from the list. When Together stays unreachable, that is said
        once in each thread, and once more when it answers again.
        """
        tracked = self.store.tracked_endpoints()
        if not tracked:
            return 0
        try:
            current = {e.id: e for e in self.provider.list_endpoints()}
        except ProviderError as exc:
            log.warning("tracker could not reach Together: %s", exc)
            self._note_unreachable(tracked, exc)
            return 0
        self._unreachable_since = None
        with self.store.transaction() as tx:  # seen now: were one gone by the next look, it went after this
            tx.mark_seen((e.id for e in tracked if e.id in current), self.clock.now())
        self._look_for_duplicates(tracked, current)
        moved: list[tuple[EndpointRecord, EndpointInfo]] = []
        rescaled: list[tuple[EndpointRecord, EndpointInfo]] = []
        for endpoint in tracked:
            seen = current.get(endpoint.id)
            if seen is None:
                seen = self._fetch_missing(endpoint)
                if seen is None:
                    continue
            if endpoint.problem is not None:
                self._clear_problem(endpoint, seen)
            if seen.state == endpoint.state:
                if seen.ready_replicas is not None:
                    rescaled.append((endpoint, seen))
                continue
            if seen.state in EXPLAINED and seen.status_message is None:
                seen = self._explained(seen)  # a list does not say why (v2); one read does
            moved.append((endpoint, seen))
        rescaled = self._replicas_changed(rescaled)
        loads = [e.request_id for e, _ in moved + rescaled]
        requests = self.store.get_requests(loads) if loads else {}
        # Whether each endpoint coming to serve comes up (or ends a rescale): one query for all of them.
        serving = [e.id for e, seen in moved if seen.state in READY_TO_SERVE]
        histories = self.store.observations(serving) if serving else {}
        changes = sum(
            1
            for e, seen in moved
            if self.record_state(
                e,
                seen,
                requests.get(e.request_id),
                came_up=comes_up([o.state for o in histories[e.id]]) if e.id in histories else None,
            )
        )
        for endpoint, seen in moved:
            self._ready[endpoint.id] = seen.ready_replicas
        for endpoint, seen in rescaled:
            self._record_replicas(endpoint, seen, requests.get(endpoint.request_id))
        self._follow_startups(tracked, current, {e.id for e, _ in moved})
        after = {e.id: seen.state for e, seen in moved}
        busy = any(
            after.get(e.id, e.state) not in SETTLED or e.delete_requested_at is not None for e in tracked
        )
        self._busy_hint = (busy, self.clock.monotonic())
        return changes

    def _follow_startups(
        self, tracked: list[EndpointRecord], current: dict[str, EndpointInfo], moved: set[str]
    ) -> None:
        """The progress of the starts under way (v2), read from Together's events: see progress.py."""
        starting = [
            (e, current[e.id]) for e in tracked if e.id in current and current[e.id].state in TRANSITIONAL
        ]
        if not starting or self.startup.reporter is None:
            return
        fresh = [(self.store.endpoint(e.id) if e.id in moved else e, seen) for e, seen in starting]
        requests = self.store.get_requests(e.request_id for e, _ in starting)
        self.startup.follow(
            [
                (e, seen, requests[e.request_id])
                for e, seen in fresh
                if e is not None and e.request_id in requests
            ]
        )

    def _replicas_changed(
        self, same_state: list[tuple[EndpointRecord, EndpointInfo]]
    ) -> list[tuple[EndpointRecord, EndpointInfo]]:
        """Those whose ready replica count (v2 reports it) changed without a change of state: the autoscaler
        at work. The last count recorded is remembered; the store is asked once, for endpoints not seen yet."""
        unknown = [e.id for e, _ in same_state if e.id not in self._ready]
        if unknown:
            for endpoint_id, history in self.store.observations(unknown).items():
                self._ready[endpoint_id] = history[-1].ready_replicas if history else None
        return [(e, seen) for e, seen in same_state if self._ready.get(e.id) != seen.ready_replicas]

    def _record_replicas(
        self, endpoint: EndpointRecord, seen: EndpointInfo, request: LaunchRequest | None
    ) -> None:
        """A row of state history for a new replica count, so the cost meter counts the replicas that ran.
        No reply and no card: the state did not change. Several trackers may each add one; the meter
        reads consecutive rows alike, so a repeat changes nothing."""
        request = request or self.get(endpoint.request_id)
        with self.store.transaction() as tx:
            tx.add_observation(endpoint.id, endpoint.state, self.seen(request, seen))
        self._ready[endpoint.id] = seen.ready_replicas

    def _look_for_duplicates(self, tracked: list[EndpointRecord], listed: dict[str, EndpointInfo]) -> None:
        """Say once, in the launch's thread, when the account has another endpoint with the display name a
        launch was created with: most likely a create whose answer was lost and that Together completed
        after the bot had looked for it (v1 has no idempotency key). It is billed while it runs, and the
        bot does not run it.

        Only endpoints of a model the bot follows are candidates; a v1 list carries no display names, so
        each candidate is read once (at most DUPLICATE_READS_PER_TICK a tick) and then remembered. A steady
        tick with nothing new costs no call and no query.
        """
        ours = {e.id: e for e in tracked}
        models = {e.model for e in tracked}
        candidates = [o for o in listed.values() if o.id not in ours and o.model in models]
        fresh = [o for o in candidates if self._checked.get(o.id) != frozenset(ours)]
        if not fresh:
            return
        reads = 0
        for other in fresh:
            if other.id in self._other_names:
                continue
            if other.display_name is not None:
                self._other_names[other.id] = other.display_name
            elif reads < DUPLICATE_READS_PER_TICK:
                reads += 1
                try:
                    self._other_names[other.id] = self.provider.get_endpoint(other.id).display_name
                except ProviderError as exc:
                    log.info("could not read %s to compare its name: %s", other.id, exc)
        requests = self.store.get_requests(e.request_id for e in tracked if e.model in models)
        launched_as = {
            launch_spec(requests[e.request_id], self.catalog).display_name: e
            for e in tracked
            if e.request_id in requests
        }
        for other in fresh:
            if other.id not in self._other_names:
                continue  # not read yet: next tick
            self._checked[other.id] = frozenset(ours)
            launched = launched_as.get(self._other_names[other.id] or "")
            if launched is not None:
                self._report_duplicate(requests[launched.request_id], launched, other)

    def _report_duplicate(
        self, request: LaunchRequest, launched: EndpointRecord, other: EndpointInfo
    ) -> None:
        with self.store.transaction() as tx:
            if not tx.note_duplicate(other.id, request.id):
                return  # said already, by this process or another
            tx.record(
                team_id=request.team_id,
                actor="together",
                action="duplicate_seen",
                request_id=request.id,
                endpoint_id=other.id,
                name=other.name,
                state=other.state,
                launched=launched.id,
            )
            tx.reply(
                request,
                Duplicate(
                    endpoint_id=other.id,
                    name=other.name,
                    display_name=self._other_names.get(other.id),
                    state=other.state,
                    created_at=other.created_at.isoformat() if other.created_at else None,
                    launched=launched.id,
                    requester=request.requested_by,
                    approvers=request.approvers,
                ),
            )
        self._on_outbox()

    def busy(self) -> bool:
        """Whether any tracked endpoint is between states, or waits to be deleted (the tracker then polls
        at its faster pace). Right after a tick, what that tick saw answers without another query."""
        hint, self._busy_hint = self._busy_hint, None
        if hint is not None and self.clock.monotonic() - hint[1] < BUSY_HINT_FRESH:
            return hint[0]
        return any(
            e.state not in SETTLED or e.delete_requested_at is not None
            for e in self.store.tracked_endpoints()
        )

    def _note_unreachable(self, tracked: list[EndpointRecord], error: ProviderError) -> None:
        now = self.clock.monotonic()
        if self._unreachable_since is None:
            self._unreachable_since = now
        if now - self._unreachable_since < self.unreachable_report_after:
            return
        minutes = max(1, round((now - self._unreachable_since) / 60))
        for endpoint in tracked:
            if endpoint.problem is not None:
                continue
            request = self.get(endpoint.request_id)
            with self.store.transaction() as tx:
                if not tx.set_problem(endpoint.id, "unreachable"):
                    continue  # another process said it already
                tx.reply(
                    request,
                    Unreachable(minutes=minutes, message=error.message, status=error.status),
                )
        self._on_outbox()

    def _clear_problem(self, endpoint: EndpointRecord, seen: EndpointInfo) -> None:
        request = self.get(endpoint.request_id)
        with self.store.transaction() as tx:
            if tx.set_problem(endpoint.id, None):
                tx.reply(
                    request,
                    Reachable(state=seen.state),
                )
        self._on_outbox()

    def _explained(self, seen: EndpointInfo) -> EndpointInfo:
        """The endpoint read on its own, for the explanation of its state; as listed when that fails."""
        try:
            read = self.provider.get_endpoint(seen.id)
        except ProviderError as exc:
            log.info("could not read %s for the reason of %s: %s", seen.id, seen.state, exc)
            return seen
        return read if read.state == seen.state else seen

    def _fetch_missing(self, endpoint: EndpointRecord) -> EndpointInfo | None:
        try:
            return self.provider.get_endpoint(endpoint.id)
        except ProviderNotFound:
            return replace_state(endpoint, GONE)
        except ProviderError as exc:
            log.warning("could not read %s: %s", endpoint.id, exc)
            return None

    def record_state(
        self,
        endpoint: EndpointRecord,
        seen: EndpointInfo,
        request: LaunchRequest | None = None,
        *,
        came_up: bool | None = None,
    ) -> bool:
        """Record a state change once, however many trackers saw it; queue its thread reply and card.
        `came_up`: whether a serving state ends a start (None: read from the endpoint's history)."""
        request = request or self.get(endpoint.request_id)
        with log_context(request_id=request.id, endpoint_id=endpoint.id):
            return self._record_state(endpoint, seen, request, came_up)

    def _record_state(
        self, endpoint: EndpointRecord, seen: EndpointInfo, request: LaunchRequest, came_up: bool | None
    ) -> bool:
        now = self.clock.now()
        ran: dict[str, Any] = {}
        if seen.state in STOPPED or seen.state == GONE:
            ran = ran_in_all(self.costs.of(request, at=now))
        if seen.state == GONE and endpoint.state in SERVING:
            # Found gone: what it cost is certain up to when it was last seen serving; after that it may
            # or may not have run (the meter's UNSEEN range).
            since = min(endpoint.last_seen_at or endpoint.state_changed_at, now)
            ran = ran_in_all(self.costs.of(request, at=since))
            ran["unseen_seconds"] = int((now - since).total_seconds())
        if seen.state not in READY_TO_SERVE:
            came_up = False
        elif came_up is None:
            came_up = comes_up([state for state, _at in self.store.endpoint_history(endpoint.id)])
        with self.store.transaction() as tx:
            if not tx.move_endpoint_state(
                endpoint.id, endpoint.state, seen.state, self.seen(request, seen, at=now)
            ):
                return False
            if seen.state == GONE:
                tx.end_following(endpoint, GONE, now, high=bounds_of(request)[1], move=False)
                tx.mark_endpoint_deleted(endpoint.id)
            if seen.state not in TRANSITIONAL and (
                endpoint.startup_desired is not None or endpoint.first_serving_at
            ):
                clear_startup(tx, endpoint.id)  # the start is over: the card shows the state alone
            if came_up and self.smoke_tests:
                ask_smoke_test(tx, endpoint.id, now)
            tx.announce(
                request,
                actor="together",
                action="state_changed",
                reply=StateChanged(
                    state=seen.state,
                    previous=endpoint.state,
                    endpoint_id=endpoint.id,
                    name=seen.name or endpoint.name,
                    requester=request.requested_by,
                    # v2 reports replicas and a reason with its states; v1 does not (None: not shown)
                    ready_replicas=seen.ready_replicas,
                    desired_replicas=seen.desired_replicas,
                    status_message=seen.status_message,
                    # Coming up (not a rescale while serving) is worth the channel's attention, once.
                    came_up=came_up,
                    smoke_test=came_up and self.smoke_tests,
                    **ran,
                ),
                endpoint_id=endpoint.id,
                previous=endpoint.state,
                state=seen.state,
            )
        self._on_outbox()
        if came_up and self.smoke_tests:
            self._on_came_up()
        return True

    def seen(
        self,
        request: LaunchRequest,
        info: EndpointInfo | None = None,
        *,
        at: datetime | None = None,
        state: str | None = None,
    ) -> Seen:
        """What a recorded state carries: when, replicas ready (v2) and the bounds in force (for the meter);
        and, for a `state` that does not serve, the end of the endpoint's "still running" reminders."""
        return observed(request, info, at=at or self.clock.now(), state=state)

    def get(self, request_id: int) -> LaunchRequest:
        request = self.store.get_request(request_id)
        if request is None:
            raise NotFound(f"There is no launch request #{request_id}.")
        return request


class TickObserver(Protocol):
    def __call__(self, seconds: float, *, succeeded: bool) -> None: ...


def _unobserved(seconds: float, *, succeeded: bool) -> None:
    pass


class Ticks(Protocol):
    def track_once(self) -> int: ...


class Deletions(Protocol):
    def finish_deletes(self) -> int: ...


def track(
    tracker: Ticks,
    lifecycle: Deletions,
    *,
    observe: TickObserver = _unobserved,
) -> int:
    """One tick: one list call to Together, a record per change; then the deletions that were waiting
    for a stop and whose endpoints are now stopped. Returns the number of changes. `observe` is told how
    long the list and its records took, and whether Together answered."""
    started = time.perf_counter()
    succeeded = False
    try:
        changes = tracker.track_once()
        succeeded = True
    except ProviderError as exc:
        log.warning("tracker could not reach Together this tick: %s", exc)
        return 0
    finally:
        observe(time.perf_counter() - started, succeeded=succeeded)
    try:
        changes += lifecycle.finish_deletes()
    except ProviderError as exc:
        log.warning("tracker could not finish a deletion this tick: %s", exc)
    return changes


def observed(
    request: LaunchRequest, info: EndpointInfo | None = None, *, at: datetime, state: str | None = None
) -> Seen:
    """What a state recorded `at` carries (see Tracker.seen)."""
    low, high = bounds_of(request)
    state = state or (info.state if info is not None else None)
    return Seen(
        at=at,
        ready_replicas=info.ready_replicas if info is not None else None,
        min_replicas=low,
        max_replicas=high,
        end_reminders=state is not None and state not in SERVING,
    )


def ran_in_all(meter: Meter | None) -> dict[str, Any]:
    """The final figures a stop or delete reply carries: time serving in all and what it cost."""
    if meter is None:
        return {}
    return {"ran_seconds": int(meter.serving.total_seconds()), "cost": [meter.low, meter.high]}


def comes_up(history: list[str]) -> bool:
    """Whether entering a serving state now is coming up (after a launch, a start or a failure), not the
    end of a rescale while it already served: no READY/STARTED since it last stopped or failed. `history`:
    the endpoint's states so far, oldest first."""
    for state in reversed(history):
        if state in READY_TO_SERVE:
            return False
        if state in STOPPED or state in FAILED or state in GOING_DOWN:
            return True
    return True


def replace_state(endpoint: EndpointRecord, state: str) -> EndpointInfo:
    return EndpointInfo(
        id=endpoint.id, name=endpoint.name, model=endpoint.model, state=state, hardware=endpoint.hardware
    )
