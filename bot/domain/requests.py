"""Launch requests from asking to a decision: submit, approve (in the tier's number of approvals), reject,
withdraw, expire. Change requests (changes.py) are decided here the same way.

Every decision is a compare-and-set in the store, so double clicks and two approvers at once each count
once. Approved requests are launched by the launcher (launcher.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.domain.catalog import Catalog
from bot.domain.changes import ChangeHooks, NoChanges
from bot.domain.checks import LaunchChecks
from bot.domain.clock import Clock
from bot.domain.errors import AlreadyDecided, NotAllowed, NotFound, RequestExpired, UserError
from bot.domain.events import Approved, Event, Expired, Rejected, Withdrawn
from bot.domain.model import LaunchDraft, LaunchRequest, RequestStatus
from bot.domain.policy.approval import check_may_decide, decided_message, who_can_decide, window
from bot.domain.policy.budget import BudgetUse
from bot.domain.policy.tiers import LaunchPolicy
from bot.domain.text import mention
from bot.store import Store

MAX_NOTE_LENGTH = 1000
# An approval that loses the compare-and-set looks again; each loss means another decision was recorded,
# and a request takes only a few, so this is never reached in practice.
MAX_APPROVAL_ROUNDS = 50


class LaunchRequests:
    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        checks: LaunchChecks,
        clock: Clock,
        *,
        on_outbox: Callable[[], None] = lambda: None,
        on_approved: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.checks = checks
        self.clock = clock  # the clock of approvals and expiry; tests move it instead of sleeping
        self._on_outbox = on_outbox
        self._on_approved = on_approved
        # How a change request has gone stale, and closing it (set once the lifecycle exists).
        self.changes: ChangeHooks = NoChanges()

    @property
    def policy(self) -> LaunchPolicy:
        return self.checks.policy

    # --- asking ---------------------------------------------------------------------------

    def submit(self, *, team_id: str, channel_id: str, user_id: str, draft: LaunchDraft) -> LaunchRequest:
        """Record a launch request in its cost tier and queue its card. Nothing is sent to Together yet."""
        verdict = self.checks.verdict(draft, user_id)
        tier = verdict.tier
        now = self.clock.now()
        expires_at = now + self.policy.expire_after if self.policy.expire_after else None
        with self.store.transaction() as tx:
            request_id = tx.insert_request(
                team_id=team_id,
                channel_id=channel_id,
                requested_by=user_id,
                draft=draft,
                cents_per_minute=verdict.option.cents_per_minute,
                tier=tier.name,
                approvals_needed=tier.approvals,
                requested_at=now,
                expires_at=expires_at,
            )
            request = tx.get_request(request_id)
            assert request is not None
            policy_detail: dict[str, Any] = {}
            if tier.name is not None:
                policy_detail.update(tier=tier.name, dollars_per_hour_at_max=verdict.dollars_at_max)
            if expires_at is not None:
                policy_detail["expires_at"] = expires_at.isoformat()
            tx.announce(
                request,
                actor=user_id,
                action="requested",
                reply=None,
                model=draft.model,
                hardware=draft.hardware,
                min_replicas=draft.min_replicas,
                max_replicas=draft.max_replicas,
                approvals_needed=tier.approvals,
                **policy_detail,
            )
        self._on_outbox()
        return request

    # --- deciding -------------------------------------------------------------------------

    def who_can_decide(self, request: LaunchRequest) -> list[str]:
        """Who may give `request` its next approval (the App Home lists it for them)."""
        return who_can_decide(self.policy, request)

    def ensure_may_decide(self, request_id: int, user_id: str, *, approving: bool = True) -> LaunchRequest:
        """The request, if `user_id` may approve (or, with `approving=False`, reject) it now; else a
        NotAllowed, AlreadyDecided, RequestExpired, BudgetSpent or TooManyRunning saying why and who can."""
        return self.decision_context(request_id, user_id, approving=approving)[0]

    def decision_context(
        self, request_id: int, user_id: str, *, approving: bool = True
    ) -> tuple[LaunchRequest, list[BudgetUse]]:
        """`ensure_may_decide`, with the requester's budgets as they stand (for the approval form)."""
        request = self._may_decide(request_id, user_id, approving=approving)
        uses: list[BudgetUse] = []
        if not approving:
            return request, uses
        if request.change_of is not None:
            # The endpoint's budget is its launcher's; its running count does not change.
            uses = self.checks.room(
                self.owner_of(request),
                approving=True,
                doing="This change can't be approved",
                adds_running=False,
            )
        else:
            uses = self.checks.room(request.requested_by, approving=True)
        return request, uses

    def _may_decide(self, request_id: int, user_id: str, *, approving: bool) -> LaunchRequest:
        """The request, if it is still open, `user_id` may decide it and (a change) it is not stale."""
        request = self._open(self.get(request_id))
        check_may_decide(self.policy, request, user_id, approving=approving)
        if request.change_of is not None:
            why = self.changes.stale_reason(request)
            if why is not None:
                self.changes.close_stale(request, why)
                raise AlreadyDecided(
                    f"This change request is stale: {why}. Nothing was done; ask again with "
                    "`/endpoint scale` if it is still wanted."
                )
        return request

    def owner_of(self, request: LaunchRequest) -> str:
        """Whose endpoint a request is about: the launch's requester (also for a change of it)."""
        if request.change_of is None:
            return request.requested_by
        return self.get(request.change_of).requested_by

    def approve(self, request_id: int, user_id: str, note: str | None = None) -> LaunchRequest:
        """Count one approval; the one that completes the tier's number approves the request for launch.

        Every approval is a compare-and-set on the request's approval count, so of any number of
        simultaneous approvals each counts once (a person once) and exactly one completes the request.
        One that loses the race looks again: it may now be a repeat, the one that completes, or too late.
        The budgets and quotas are checked once, before the first round.
        """
        note = _clean(note)
        complete = False
        request = self.ensure_may_decide(request_id, user_id)
        for round_ in range(MAX_APPROVAL_ROUNDS):
            if round_:
                request = self._may_decide(request_id, user_id, approving=True)
            progress = self.policy.progress(request)
            count = progress.count + 1
            complete = count >= request.approvals_needed
            now = self.clock.now()
            with self.store.transaction() as tx:
                won = tx.count_approval(request_id, seen=progress.count, complete=complete, now=now)
                if won:
                    tx.insert_approval(
                        request_id=request_id, team_id=request.team_id, user_id=user_id, note=note, at=now
                    )
                    if complete:
                        tx.insert_decision(
                            request_id=request_id,
                            team_id=request.team_id,
                            user_id=user_id,
                            decision="approved",
                            note=note,
                            at=now,
                        )
                    reply = Approved(user=user_id, note=note)
                    counted: dict[str, Any] = {}
                    if request.approvals_needed > 1:
                        counted = {"approval": count, "of": request.approvals_needed}
                        reply = Approved(
                            user=user_id,
                            note=note,
                            count=count,
                            needed=request.approvals_needed,
                            approvers=[*progress.approved_by, user_id],
                        )
                    tier = {"tier": request.tier} if request.tier else {}
                    tx.announce(
                        request,
                        actor=user_id,
                        action=audited(request, "approved"),
                        reply=reply,
                        note=note,
                        **tier,
                        **counted,
                    )
            if won:
                break
        else:
            raise AlreadyDecided("Too many decisions arrived at once and yours was not recorded. Try again.")
        self._on_outbox()
        if complete:
            self._on_approved()
        return self.get(request_id)

    def reject(self, request_id: int, user_id: str, reason: str) -> LaunchRequest:
        """End the request; any eligible approver may, also one who approved it before."""
        if not reason or not reason.strip():
            raise UserError(
                "Say why the launch is rejected, so the requester knows what to change.", field="reason"
            )
        note = _clean(reason)
        request = self.ensure_may_decide(request_id, user_id, approving=False)
        after: dict[str, Any] = {"note": note}
        if request.approvals:
            after["approvals"] = [a.user_id for a in request.approvals]
        return self._close(
            request,
            user_id,
            RequestStatus.REJECTED,
            decision_note=note,
            reply=Rejected(user=user_id, note=note),
            **after,
        )

    def withdraw(self, request_id: int, user_id: str) -> LaunchRequest:
        """The requester calls off their own request while nobody has decided it."""
        request = self.get(request_id)
        kind = request.kind
        if user_id != request.requested_by:
            raise NotAllowed(
                f"You clicked Withdraw on {mention(request.requested_by)}'s {kind} request #{request.id}: only "
                f"{mention(request.requested_by)}, who asked for it, can withdraw it. Those who may approve "
                "it can reject it instead."
            )
        request = self._open(request)
        return self._close(
            request,
            user_id,
            RequestStatus.WITHDRAWN,
            decision_note=None,
            reply=Withdrawn(user=user_id),
            approvals=[a.user_id for a in request.approvals],
        )

    def _close(
        self,
        request: LaunchRequest,
        user_id: str,
        status: RequestStatus,
        *,
        decision_note: str | None,
        reply: Event,
        **audit: Any,
    ) -> LaunchRequest:
        """End a pending request as rejected or withdrawn: its decision, audit and thread reply."""
        decision = status.value  # "rejected", "withdrawn"
        now = self.clock.now()
        with self.store.transaction() as tx:
            # The compare-and-set is the guard: of any number of simultaneous clicks, one wins.
            won = tx.move_request(request.id, [RequestStatus.PENDING], status, unexpired_at=now)
            if won:
                tx.insert_decision(
                    request_id=request.id,
                    team_id=request.team_id,
                    user_id=user_id,
                    decision=decision,
                    note=decision_note,
                    at=now,
                )
                tx.announce(request, actor=user_id, action=audited(request, decision), reply=reply, **audit)
        if not won:
            self._open(self.get(request.id))  # raises: decided by someone else, or expired
            raise AlreadyDecided(decided_message(self.get(request.id), self.catalog))
        self._on_outbox()
        return self.get(request.id)

    # --- expiring -------------------------------------------------------------------------

    def expire_due(self) -> int:
        """Expire every pending request whose time to be decided ran out. Returns how many this call did."""
        now = self.clock.now()
        return sum(1 for request_id in self.store.due_expiries(now) if self._expire(request_id, now))

    def _open(self, request: LaunchRequest) -> LaunchRequest:
        """`request` if it still waits for a decision; else AlreadyDecided (RequestExpired) saying why.

        A request past its expiry is expired here and now, whether or not the sweep got to it yet.
        """
        if request.status is RequestStatus.PENDING and request.expires_at is not None:
            now = self.clock.now()
            if request.expires_at <= now:
                self._expire(request.id, now)
                request = self.get(request.id)
        if request.status is RequestStatus.EXPIRED:
            raise RequestExpired(decided_message(request, self.catalog))
        if request.status is not RequestStatus.PENDING:
            raise AlreadyDecided(decided_message(request, self.catalog))
        return request

    def _expire(self, request_id: int, now: datetime) -> bool:
        """Pending -> expired (compare-and-set); the card loses its buttons and the thread says so.
        True only for the caller that expired it."""
        request = self.get(request_id)
        with self.store.transaction() as tx:
            if not tx.expire_request(request_id, now):
                return False
            tx.announce(
                request,
                actor="bot",
                action=audited(request, "expired"),
                reply=Expired(requester=request.requested_by),
                waited=window(request),
                approvals=[a.user_id for a in request.approvals],
                approvals_needed=request.approvals_needed,
            )
        self._on_outbox()
        return True

    # --- reading --------------------------------------------------------------------------

    def get(self, request_id: int) -> LaunchRequest:
        request = self.store.get_request(request_id)
        if request is None:
            raise NotFound(f"There is no launch request #{request_id}.")
        return request


def audited(request: LaunchRequest, action: str) -> str:
    """The audit action of a decision: `approved` for a launch, `change_approved` for a change."""
    return f"change_{action}" if request.change_of is not None else action


def _clean(note: str | None) -> str | None:
    return (note or "").strip()[:MAX_NOTE_LENGTH] or None
