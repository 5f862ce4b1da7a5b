"""Change requests: a scale (or a start) that raises an endpoint's cost ceiling beyond what its approvals
covered waits for approvals, exactly as a launch does.

A change request is a row like a launch request (`change_of` names the launch), so it is approved,
rejected, withdrawn and expired by the same code (requests.py) under the same rules: its tier's number
of distinct approvals, never from the person who asked, within the policy's expiry. Once approved, the
launcher applies it: a compare-and-set claims it, so exactly one process sends the one PATCH to Together.

What lowers or keeps the cost (scale down, stop, delete) never waits. With a tiered policy, a change
waits when its $/h at max replicas falls in a tier above every tier the endpoint was approved in; without
tiers (BOT_APPROVERS alone), when it costs more at max than anything approved, unless
BOT_SCALE_WITHOUT_APPROVAL=1.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Protocol

from bot.domain.checks import LaunchChecks
from bot.domain.clock import Clock, utcnow
from bot.domain.cost.estimate import dollars_per_hour, format_dollars, replica_count
from bot.domain.errors import UserError
from bot.domain.model import EndpointRecord, LaunchRequest, RequestStatus
from bot.domain.policy.access import Act
from bot.domain.policy.tiers import Tier
from bot.domain.provider import EndpointInfo
from bot.domain.running import Managed, Outcome, current_draft
from bot.domain.states import billed
from bot.domain.text import mention, plural
from bot.store import Store

log = logging.getLogger(__name__)

SCALE = "scale"
START = "start"


@dataclass(frozen=True)
class ChangeAsked:
    """A scale or start that now waits for approvals in the endpoint's thread (nothing sent to Together)."""

    managed: Managed
    change: LaunchRequest
    tier: Tier
    before: tuple[float, float]  # $/h at min and max replicas, now
    after: tuple[float, float]  # $/h at min and max replicas, if approved


class ChangeHooks(Protocol):
    """What deciding and launching need of change requests: whether one went stale, and applying one."""

    def stale_reason(self, change: LaunchRequest) -> str | None: ...

    def close_stale(self, change: LaunchRequest, why: str) -> None: ...

    def apply(self, change_id: int) -> bool: ...

    def apply_claimed(self, change: LaunchRequest) -> None: ...


class NoChanges:
    """Until the lifecycle is wired in: no change is stale, none is applied."""

    def stale_reason(self, change: LaunchRequest) -> str | None:
        return None

    def close_stale(self, change: LaunchRequest, why: str) -> None:
        pass

    def apply(self, change_id: int) -> bool:
        return False

    def apply_claimed(self, change: LaunchRequest) -> None:
        pass


class EndpointSteps(Protocol):
    """What applying a change needs of the lifecycle (LifecycleService): its parts, and the steps every act
    on an endpoint shares (finding it, the one call to Together, recording what was done)."""

    store: Store
    checks: LaunchChecks
    clock: Clock
    launch_lease: timedelta
    on_outbox: Callable[[], None]

    def managed_of(self, request: LaunchRequest, endpoint: EndpointRecord) -> Managed: ...

    def apply_scale(
        self, managed: Managed, user_id: str, min_replicas: int, max_replicas: int, **detail: Any
    ) -> Outcome: ...

    def start_at_together(self, endpoint_id: str, min_replicas: int, max_replicas: int) -> EndpointInfo: ...

    def call_together(
        self,
        act: Act,
        managed: Managed,
        user_id: str,
        call: Callable[[], EndpointInfo],
        asked: dict[str, Any] | None = None,
    ) -> EndpointInfo: ...

    def record_done(
        self,
        act: Act,
        managed: Managed,
        user_id: str,
        known: str | None,
        state: str,
        *,
        settings: dict[str, Any] | None = None,
        previous: dict[str, Any] | None = None,
        **detail: Any,
    ) -> Outcome: ...


class ChangeRequests:
    def __init__(self, lifecycle: EndpointSteps) -> None:
        self.lifecycle = lifecycle
        self.policy = lifecycle.checks.policy
        self.store = lifecycle.store

    # --- when a change needs approval --------------------------------------------------------

    def tier_needed(self, managed: Managed, max_replicas: int) -> Tier | None:
        """The tier whose approvals a change to `max_replicas` needs; None when it may go ahead now."""
        policy = self.policy
        cents = managed.request.cents_per_minute
        new_cost = dollars_per_hour(cents, max_replicas)
        approved = self.approved(managed.request)
        if policy.tiered:
            new_tier = policy.tier_for(new_cost) or policy.tiers[-1]
            top = max(policy.tiers.index(policy.tier_of(r)) for r in approved)
            return new_tier if policy.tiers.index(new_tier) > top else None
        ceiling = max(dollars_per_hour(cents, r.draft.max_replicas) for r in approved)
        if new_cost <= ceiling + 1e-9 or policy.scale_without_approval:
            return None
        return policy.tiers[0]

    def approved(self, launch: LaunchRequest) -> list[LaunchRequest]:
        """The launch and the changes of it that were approved and applied: what its approvals cover."""
        return [launch, *(c for c in self.store.changes_of(launch.id) if c.status is RequestStatus.LAUNCHED)]

    def pending(self, launch: LaunchRequest) -> LaunchRequest | None:
        return next((c for c in self.store.changes_of(launch.id) if c.status is RequestStatus.PENDING), None)

    # --- asking --------------------------------------------------------------------------------

    def ask(
        self, managed: Managed, user_id: str, kind: str, min_replicas: int, max_replicas: int, tier: Tier
    ) -> ChangeAsked:
        """Record a change request and queue its card in the endpoint's thread. Nothing goes to Together."""
        launch = managed.request
        waiting = self.pending(launch)
        if waiting is not None:
            raise UserError(
                f"A change of {managed.label} already waits for approval (change request #{waiting.id}, "
                f"asked by {mention(waiting.requested_by)} for {replica_count(*_bounds(waiting))}). It must be decided "
                "or withdrawn before another is asked. Nothing was done."
            )
        draft = current_draft(launch)
        # Every limit of a launch holds for what the change asks (the policy may have changed since).
        self.policy.check(
            model=draft.model,
            hardware=draft.hardware,
            max_replicas=max_replicas,
            cents_per_minute=launch.cents_per_minute,
        )
        now = self.lifecycle.clock.now()
        policy = self.policy
        expires_at = now + policy.expire_after if policy.expire_after else None
        cents = launch.cents_per_minute
        before = (
            dollars_per_hour(cents, managed.min_replicas),
            dollars_per_hour(cents, managed.max_replicas),
        )
        after = (dollars_per_hour(cents, min_replicas), dollars_per_hour(cents, max_replicas))
        with self.store.transaction() as tx:
            change_id = tx.insert_request(
                team_id=launch.team_id,
                channel_id=launch.channel_id,
                requested_by=user_id,
                draft=replace(draft, min_replicas=min_replicas, max_replicas=max_replicas),
                cents_per_minute=cents,
                tier=tier.name,
                approvals_needed=tier.approvals,
                requested_at=now,
                expires_at=expires_at,
                change_of=launch.id,
                change_kind=kind,
                previous_replicas=(managed.min_replicas, managed.max_replicas),
            )
            change = tx.get_request(change_id)
            assert change is not None
            detail: dict[str, Any] = {"tier": tier.name} if tier.name else {}
            if expires_at is not None:
                detail["expires_at"] = expires_at.isoformat()
            tx.announce(
                change,
                actor=user_id,
                action="change_requested",
                reply=None,
                endpoint_id=managed.id,
                change=kind,
                launch=launch.id,
                min_replicas=min_replicas,
                max_replicas=max_replicas,
                previous={"min_replicas": managed.min_replicas, "max_replicas": managed.max_replicas},
                dollars_per_hour=list(after),
                previous_dollars_per_hour=list(before),
                approvals_needed=tier.approvals,
                **detail,
            )
        self.lifecycle.on_outbox()
        return ChangeAsked(managed, change, tier, before, after)

    # --- what a decision checks ------------------------------------------------------------------

    def stale_reason(self, change: LaunchRequest, launch: LaunchRequest | None = None) -> str | None:
        """Why approving `change` no longer makes sense (its endpoint changed since), or None. `launch`: the
        request it changes, when the caller has just read it."""
        if launch is None and change.change_of is not None:
            launch = self.store.get_request(change.change_of)
        endpoint = launch.endpoint if launch is not None else None
        if launch is None or endpoint is None or endpoint.deleted_at is not None:
            return "its endpoint has been deleted since"
        if endpoint.delete_requested_by is not None:
            return f"its endpoint is being deleted ({mention(endpoint.delete_requested_by)} asked)"
        managed = self.lifecycle.managed_of(launch, endpoint)
        if change.previous_replicas is not None and change.previous_replicas != (
            managed.min_replicas,
            managed.max_replicas,
        ):
            return (
                f"its endpoint was changed since: it runs {replica_count(managed.min_replicas, managed.max_replicas)} "
                f"now, not {replica_count(*change.previous_replicas)}"
            )
        if change.change == START and billed(endpoint.state):
            return f"its endpoint is running already ({endpoint.state})"
        return None

    def close_overtaken(self, launch: LaunchRequest) -> None:
        """After an act on the endpoint: close its pending change if the act made it stale, so its card
        loses its buttons now rather than at the next click."""
        waiting = self.pending(launch)
        why = self.stale_reason(waiting) if waiting is not None else None
        if waiting is not None and why is not None:
            self.close_stale(waiting, why)

    def close_stale(self, change: LaunchRequest, why: str) -> None:
        """End a pending change whose endpoint changed under it; its card loses its buttons and says why."""
        with self.store.transaction() as tx:
            if not tx.move_request(
                change.id,
                [RequestStatus.PENDING, RequestStatus.APPROVED],
                RequestStatus.FAILED,
                error_code="stale",
                error_message=f"Not applied: {why}.",
            ):
                return
            tx.announce(change, actor="bot", action="change_stale", reply=None, reason=why)
        self.lifecycle.on_outbox()

    # --- applying --------------------------------------------------------------------------------

    def apply(self, change_id: int) -> bool:
        """Claim an approved change and send its one PATCH to Together. Only the claimant calls."""
        with self.store.transaction() as tx:
            if not tx.claim_launch(change_id, self.lifecycle.launch_lease):
                return False
            change = tx.get_request(change_id)
            assert change is not None
        self.apply_claimed(change)
        return True

    def apply_claimed(self, change: LaunchRequest) -> None:
        """Send the PATCH of a change this process has claimed, and record how it went."""
        launch = self.store.get_request(change.change_of or 0)  # read once for every check below
        if change.change == SCALE and self._already_applied(change, launch):
            # A process that died after its PATCH was recorded: nothing more to send.
            self._finish(change, RequestStatus.LAUNCHED, launched_at=utcnow())
            return
        why = self.stale_reason(change, launch)
        if why is not None:
            self._finish(
                change, RequestStatus.FAILED, error_code="stale", error_message=f"Not applied: {why}."
            )
            return
        assert launch is not None and launch.endpoint is not None
        managed = self.lifecycle.managed_of(launch, launch.endpoint)
        low, high = change.draft.min_replicas, change.draft.max_replicas
        lifecycle = self.lifecycle
        act = Act.START if change.change == START else Act.SCALE
        try:
            if act is Act.START:
                outcome = self._start(managed, change)
            else:
                outcome = lifecycle.apply_scale(managed, change.requested_by, low, high, change=change.id)
        except UserError as exc:  # a refusal by Together arrives as one too (call_together)
            self._finish(change, RequestStatus.FAILED, error_code="refused", error_message=exc.message[:2000])
            return
        log.info("change request %s applied: %s now %s", change.id, managed.id, outcome.state)
        self._finish(change, RequestStatus.LAUNCHED, launched_at=utcnow())

    def _already_applied(self, change: LaunchRequest, launch: LaunchRequest | None) -> bool:
        if launch is None or launch.endpoint is None:
            return False
        managed = self.lifecycle.managed_of(launch, launch.endpoint)
        asked = (change.draft.min_replicas, change.draft.max_replicas)
        return change.previous_replicas != asked and (managed.min_replicas, managed.max_replicas) == asked

    def _start(self, managed: Managed, change: LaunchRequest) -> Outcome:
        lifecycle = self.lifecycle
        low, high = change.draft.min_replicas, change.draft.max_replicas
        answer = lifecycle.call_together(
            Act.START,
            managed,
            change.requested_by,
            lambda: lifecycle.start_at_together(managed.id, low, high),
        )
        return lifecycle.record_done(
            Act.START, managed, change.requested_by, managed.state, answer.state, change=change.id
        )

    def _finish(self, change: LaunchRequest, status: RequestStatus, **fields: Any) -> None:
        with self.store.transaction() as tx:
            if not tx.move_request(
                change.id, [RequestStatus.LAUNCHING], status, claimed_until=None, **fields
            ):
                return
            action = "change_applied" if status is RequestStatus.LAUNCHED else "change_failed"
            tx.announce(change, actor="bot", action=action, reply=None, **_reason(fields))
        self.lifecycle.on_outbox()


def _reason(fields: dict[str, Any]) -> dict[str, Any]:
    return {"reason": fields["error_message"]} if "error_message" in fields else {}


def _bounds(change: LaunchRequest) -> tuple[int, int]:
    return change.draft.min_replicas, change.draft.max_replicas


def asked_text(asked: ChangeAsked) -> str:
    """What the person who asked is told: what waits, for whom, and that nothing changed yet."""
    change, tier = asked.change, asked.tier
    what = (
        f"Starting {asked.managed.label} at {replica_count(*_bounds(change))}"
        if change.change == START
        else f"Scaling {asked.managed.label} to {replica_count(*_bounds(change))}"
    )
    needs = plural(tier.approvals, "approval")
    where = f" in tier *{tier.name}* ({tier.cost_range()})" if tier.name else ""
    others = tier.deciders.mentions({change.requested_by}) or "nobody (no other approver is configured)"
    return (
        f"{what} raises its cost to {format_dollars(asked.after[1])}/h at max replicas (now "
        f"{format_dollars(asked.before[1])}/h){where}, beyond what its launch was approved for: it needs "
        f"{needs} from {others}. I asked in the endpoint's thread (change request #{change.id}); nothing "
        "changes until it is approved."
    )
