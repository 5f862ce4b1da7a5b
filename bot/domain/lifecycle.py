"""Running endpoints after launch: find them by any name, read them, and stop, start, scale, rename,
change auto-stop or delete them, with the same rules and record as the launch.

Every rule lives here. Each act checks who asks and the endpoint's state before any call to Together,
then records who did what and what Together answered, and queues a thread reply and a card re-render
in the same transaction (see requests.py, launcher.py and tracker.py for the launch half).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.domain.acting import RECORDED, EndpointActs, cost_range
from bot.domain.changes import SCALE, START, ChangeAsked, ChangeRequests
from bot.domain.checks import LaunchChecks
from bot.domain.cost.estimate import CostEstimate, replica_count
from bot.domain.cost.spend_views import month_spend
from bot.domain.draft import check_replicas
from bot.domain.errors import NotFound, UserError
from bot.domain.events import ActionDone
from bot.domain.launcher import LAUNCH_LEASE
from bot.domain.model import RequestStatus
from bot.domain.policy.access import Act, Policy
from bot.domain.policy.approval import who_can_decide
from bot.domain.provider import (
    BOUNDS_UNKNOWN,
    EndpointInfo,
    EndpointProvider,
    HardwareOption,
    ProviderBadRequest,
    ProviderConflict,
    ProviderError,
    ProviderNotFound,
)
from bot.domain.running import (
    Ambiguous,
    HistoryEntry,
    Home,
    Listing,
    Managed,
    Outcome,
    StateForbids,
    Status,
    history_entry,
    match_refs,
    quoted,
)
from bot.domain.states import GOING_DOWN, GONE
from bot.domain.tracker import Tracker, ran_in_all, replace_state
from bot.store import Store

log = logging.getLogger(__name__)

HISTORY_LIMIT = 30


class LifecycleService(EndpointActs):
    changes: ChangeRequests

    def __init__(
        self,
        store: Store,
        provider: EndpointProvider,
        tracker: Tracker,
        checks: LaunchChecks,
        policy: Policy,
        *,
        launch_lease: timedelta = LAUNCH_LEASE,
        on_outbox: Callable[[], None] = lambda: None,
        on_acted: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.provider = provider
        self.tracker = tracker  # records what Together answers as the tracker would
        self.checks = checks  # the launch's limits hold for a start and a scale-up too
        self.clock = tracker.clock
        self.costs = tracker.costs
        self.catalog = tracker.catalog
        self.policy = policy
        self.launch_lease = launch_lease  # how long applying an approved change is claimed for
        self.on_outbox = on_outbox
        self._on_acted = on_acted  # an endpoint was changed: the tracker should look soon
        self.changes = ChangeRequests(self)

    # --- reading --------------------------------------------------------------------------

    def listing(self, user_id: str, scope: str = "bot") -> Listing:
        """`bot`: launched through the bot and not deleted; `mine`: of those, `user_id`'s; `all`: plus others."""
        endpoints = self.managed()
        if scope == "mine":
            endpoints = [m for m in endpoints if m.requested_by == user_id]
        others = None
        if scope == "all":
            known = {e.id for e in self.store.endpoints(include_deleted=True)}
            others = [e for e in self._provider_list() if e.id not in known]
        meters = self.costs.of_many(m.request for m in endpoints)
        return Listing(endpoints, others, {m.id: meters[m.request.id] for m in endpoints})

    def status(self, ref: str) -> Status:
        """One endpoint fresh from Together. A state change seen here is recorded as the tracker would."""
        try:
            managed = self.resolve(ref)
        except Ambiguous:
            raise
        except NotFound:
            found = match_refs(ref.strip(), self._provider_list(), lambda e: [e.id, e.name])
            if len(found) != 1:
                raise
            return Status(self._read_external(found[0].id), None)
        info = self._read(managed)
        self._adopt_settings(managed, info)
        after = self.get(managed.id)
        return Status(info, after, self.costs.of(after.request))

    def hardware(self, model: str) -> list[HardwareOption]:
        """Hardware that fits `model`, cheapest first."""
        return self.checks.hardware.hardware_for(model)

    def history(self, ref: str | None = None) -> tuple[Managed | None, list[HistoryEntry]]:
        """Who did what and when: for one endpoint (deleted ones too), or the latest across all."""
        labels = {m.request.id: m.display_name for m in self.managed(include_deleted=True)}
        if ref is None:
            events = self.store.recent_events(HISTORY_LIMIT)
            return None, [history_entry(e, labels) for e in events]
        managed = self.resolve(ref, include_deleted=True)
        events = self.store.events(managed.request.id)
        for change in self.store.changes_of(managed.request.id):  # its change requests are its history too
            events += self.store.events(change.id)
        events = sorted(events, key=lambda e: e["at"])[-HISTORY_LIMIT:]
        return managed, [history_entry(dict(e, request_id=managed.request.id), labels) for e in events]

    def home(self, user_id: str) -> Home:
        pending = self.store.requests(statuses=[RequestStatus.PENDING])
        mine = [m for m in self.managed() if m.requested_by == user_id]
        meters = self.costs.of_many(m.request for m in mine)
        return Home(
            mine=mine,
            waiting=[r for r in pending if user_id in who_can_decide(self.checks.policy, r)],
            asked=[r for r in pending if r.requested_by == user_id],
            spent={m.id: meters[m.request.id] for m in mine if m.request.id in meters},
            month=month_spend(
                self.costs,
                self.store.requests(),
                user_id,
                self.checks.budget.budgets,
                admin=user_id in self.policy.admins,
            ),
        )

    @property
    def renames(self) -> bool:
        """Whether Together lets the bot change an endpoint's display name (v2 does not)."""
        return self.provider.renames

    def commands_for(self, user_id: str) -> list[str]:
        return [c for c in self.policy.commands_for(user_id) if c != "rename" or self.renames]

    # --- acting ---------------------------------------------------------------------------

    def prepare(self, act: Act, ref: str, user_id: str) -> Managed:
        """Everything that can be checked without Together: the endpoint, who asks, its known state."""
        managed = self.resolve(ref)
        self._check(act, managed, user_id)
        return managed

    def stop(self, endpoint_id: str, user_id: str) -> Outcome:
        managed, known = self._fresh_for(Act.STOP, endpoint_id, user_id)
        answer = self.call_together(
            Act.STOP, managed, user_id, lambda: self.provider.update_endpoint(managed.id, state="STOPPED")
        )
        return self.record_done(Act.STOP, managed, user_id, known, answer.state)

    def start(self, endpoint_id: str, user_id: str) -> Outcome | ChangeAsked:
        managed, known = self._fresh_for(Act.START, endpoint_id, user_id)
        self.checks.room(managed.requested_by, doing=f"{managed.label} can't be started")
        # Its range may cost more than was approved (changed in Together's console): that start waits too.
        tier = self.changes.tier_needed(managed, managed.max_replicas)
        if tier is not None:
            return self.changes.ask(managed, user_id, START, managed.min_replicas, managed.max_replicas, tier)

        answer = self.call_together(
            Act.START,
            managed,
            user_id,
            lambda: self.start_at_together(managed.id, managed.min_replicas, managed.max_replicas),
        )
        return self.record_done(Act.START, managed, user_id, known, answer.state)

    def start_at_together(self, endpoint_id: str, min_replicas: int, max_replicas: int) -> EndpointInfo:
        """Ask Together to start the endpoint; where it forgot the replica range (stopped outside the bot),
        start it with the given one."""
        try:
            return self.provider.update_endpoint(endpoint_id, state="STARTED")
        except ProviderBadRequest as exc:
            if exc.code != BOUNDS_UNKNOWN:
                raise
            return self.provider.update_endpoint(
                endpoint_id, state="STARTED", min_replicas=min_replicas, max_replicas=max_replicas
            )

    def delete(self, endpoint_id: str, user_id: str) -> Outcome:
        """Delete now where Together can; otherwise start the stop it needs first and finish later.

        Together's v2 API deletes only stopped deployments. Then the deletion is recorded as asked for
        (who, when), Together is told to stop the endpoint, and `finish_deletes` (run by the tracker)
        deletes it once it is STOPPED, in the name of the person who asked. Nobody waits meanwhile.
        """
        managed, known = self._fresh_for(Act.DELETE, endpoint_id, user_id)
        with self.store.transaction() as tx:
            if not tx.request_delete(managed.id, user_id):
                raise StateForbids(f"{managed.label} is already being deleted. Nothing more was done.")

        def call() -> EndpointInfo:
            return self.provider.advance_delete(managed.id) or replace_state(managed.endpoint, GONE)

        try:
            left = self.call_together(Act.DELETE, managed, user_id, call)
        except BaseException:
            with self.store.transaction() as tx:
                tx.drop_delete_request(managed.id)
            raise
        if left.state != GONE:
            return self._deleting(managed, user_id, left)
        return self.record_done(
            Act.DELETE, managed, user_id, known, GONE, dollars_per_hour=cost_range(managed.cost)
        )

    def finish_deletes(self) -> int:
        """Delete the endpoints whose deletion waits for a stop, once Together no longer reports them stopping.

        Run after each tracker tick (whose list call brought the states up to date). Safe in several
        processes: the deletion is announced by whichever marks it first. Returns how many were deleted.
        """
        deleted = 0
        for endpoint in self.store.pending_deletes():
            if endpoint.state in GOING_DOWN:
                continue  # the tracker follows it; nothing to ask Together yet
            request = self.store.get_request(endpoint.request_id)
            if request is None:
                continue
            managed = self.managed_of(request, endpoint)
            user_id = endpoint.delete_requested_by or "bot"
            try:
                left = self.provider.advance_delete(endpoint.id)
            except ProviderNotFound:
                left = None
            except ProviderError as exc:
                if exc.ambiguous or isinstance(exc, ProviderConflict):
                    log.info("deleting %s: %s; asking again on the next tick", endpoint.id, exc)
                    continue
                with self.store.transaction() as tx:
                    tx.drop_delete_request(endpoint.id)
                self._refused(Act.DELETE, managed, user_id, exc)
                continue
            if left is not None:
                if left.state != endpoint.state:
                    self.tracker.record_state(endpoint, left)
                continue
            now = self.clock.now()
            ran = ran_in_all(self.costs.of(request, at=now))
            with self.store.transaction() as tx:
                if not tx.mark_endpoint_deleted(endpoint.id):
                    continue  # another process finished it
                if endpoint.state != GONE:
                    tx.move_endpoint_state(
                        endpoint.id, endpoint.state, GONE, self.tracker.seen(request, at=now, state=GONE)
                    )
                tx.announce(
                    request,
                    actor=user_id,
                    action=RECORDED[Act.DELETE],
                    reply=ActionDone(
                        action=Act.DELETE.value,
                        user=user_id,
                        state=GONE,
                        display_name=managed.display_name,
                        after_stop=True,
                        **ran,
                    ),
                    endpoint_id=endpoint.id,
                    state=GONE,
                    after_stop=True,
                    dollars_per_hour=cost_range(managed.cost),
                    **ran,
                )
            deleted += 1
            self.on_outbox()
        return deleted

    def _deleting(self, managed: Managed, user_id: str, left: EndpointInfo) -> Outcome:
        """The deletion waits for the stop Together needs first: record and say so."""
        request = managed.request
        current = self.store.endpoint(managed.id)
        with self.store.transaction() as tx:
            if current is not None and current.state != left.state:
                tx.move_endpoint_state(
                    managed.id, current.state, left.state, self.tracker.seen(request, left)
                )
            tx.announce(
                request,
                actor=user_id,
                action="delete_requested",
                reply=ActionDone(
                    action=Act.DELETE.value,
                    user=user_id,
                    state=left.state,
                    display_name=managed.display_name,
                    pending=True,
                ),
                endpoint_id=managed.id,
                state=left.state,
            )
        self.on_outbox()
        self._on_acted()
        endpoint = self.store.endpoint(managed.id)
        after = self.managed_of(request, endpoint) if endpoint is not None else managed
        return Outcome(Act.DELETE, managed, after, left.state)

    def scale(
        self, endpoint_id: str, user_id: str, min_replicas: int, max_replicas: int
    ) -> Outcome | ChangeAsked:
        """Scale now, or, when the new ceiling needs approvals the endpoint does not have, ask for them."""
        managed = self.get(endpoint_id)
        self._check(Act.SCALE, managed, user_id)
        check_replicas(min_replicas, max_replicas)
        # The policy's replica and $/hour limits hold after launch too, in the same words as at the form.
        self.checks.policy.check_replicas(max_replicas, managed.request.cents_per_minute)
        if (min_replicas, max_replicas) == (managed.min_replicas, managed.max_replicas):
            raise UserError(
                f"{managed.label} already runs {replica_count(min_replicas, max_replicas)}. Nothing to change."
            )
        if min_replicas > managed.min_replicas or max_replicas > managed.max_replicas:
            # More replicas spend more: a used-up budget refuses it as it refuses a launch.
            self.checks.room(
                managed.requested_by, doing=f"{managed.label} can't be scaled up", adds_running=False
            )
            tier = self.changes.tier_needed(managed, max_replicas)
            if tier is not None:
                return self.changes.ask(managed, user_id, SCALE, min_replicas, max_replicas, tier)
        return self.apply_scale(managed, user_id, min_replicas, max_replicas)

    def apply_scale(
        self, managed: Managed, user_id: str, min_replicas: int, max_replicas: int, **detail: Any
    ) -> Outcome:
        """The one PATCH of a scale, and its record (`detail`: e.g. the change request it applies)."""
        answer = self.call_together(
            Act.SCALE,
            managed,
            user_id,
            lambda: self.provider.update_endpoint(
                managed.id, min_replicas=min_replicas, max_replicas=max_replicas
            ),
            asked={"min_replicas": min_replicas, "max_replicas": max_replicas},
        )
        low = answer.min_replicas if answer.min_replicas is not None else min_replicas
        high = answer.max_replicas if answer.max_replicas is not None else max_replicas
        new_cost = CostEstimate(managed.request.cents_per_minute, low, high)
        return self.record_done(
            Act.SCALE,
            managed,
            user_id,
            None,
            answer.state,
            settings={"min_replicas": low, "max_replicas": high},
            previous={"min_replicas": managed.min_replicas, "max_replicas": managed.max_replicas},
            dollars_per_hour=cost_range(new_cost),
            previous_dollars_per_hour=cost_range(managed.cost),
            **detail,
        )

    def rename(self, endpoint_id: str, user_id: str, display_name: str) -> Outcome:
        managed = self.get(endpoint_id)
        self._check(Act.RENAME, managed, user_id)
        if not self.renames:
            raise UserError(
                f"{managed.label} can't be renamed: on Together's v2 API an endpoint's name is the `model` "
                "string callers use, fixed at launch. Nothing was done."
            )
        new = display_name.strip()
        if not new:
            raise UserError("Give the new display name.")
        if new == managed.display_name:
            raise UserError(f"{managed.label} is already called that. Nothing to change.")
        clash = [
            m for m in self.managed() if m.id != managed.id and new.lower() in (k.lower() for k in m.refs())
        ]
        if clash:
            raise UserError(
                f"Another endpoint is already called {quoted(new)} ({clash[0].label}, {quoted(clash[0].id)}): pick a name "
                "that tells them apart, so that commands know which one you mean."
            )
        return self._change_setting(Act.RENAME, managed, user_id, "display_name", new, managed.display_name)

    def set_timeout(self, endpoint_id: str, user_id: str, minutes: int) -> Outcome:
        managed = self.get(endpoint_id)
        self._check(Act.TIMEOUT, managed, user_id)
        if minutes < 0:
            raise UserError("Auto-stop minutes can't be negative; 0 means never stop.")
        if minutes == managed.inactive_timeout:
            raise UserError(f"{managed.label} already has that auto-stop. Nothing to change.")
        return self._change_setting(
            Act.TIMEOUT, managed, user_id, "inactive_timeout", minutes, managed.inactive_timeout
        )

    def _change_setting(
        self, act: Act, managed: Managed, user_id: str, field: str, value: Any, previous: Any
    ) -> Outcome:
        """Send one updatable field to Together, then record it with what it was before."""
        answer = self.call_together(
            act,
            managed,
            user_id,
            lambda: self.provider.update_endpoint(managed.id, **{field: value}),
            asked={field: value},
        )
        # Together may normalise a value: a name, or auto-stop minutes outside what its API accepts (v2
        # raises 1-29 to 30). What it reports is what the endpoint now has.
        kept = value
        if field == "display_name":
            kept = answer.display_name or value
        elif field == "inactive_timeout" and answer.inactive_timeout is not None:
            kept = answer.inactive_timeout
        return self.record_done(
            act, managed, user_id, None, answer.state, settings={field: kept}, previous={field: previous}
        )
