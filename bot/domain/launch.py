"""Launch requests: ask, approve or reject, launch exactly once, follow the endpoint's state.

Every rule lives here. Slack calls these functions and renders what the store holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.domain.catalog import Catalog, describe_hardware
from bot.domain.clock import utcnow
from bot.domain.cost.estimate import CostEstimate, dollars_per_hour, format_dollars
from bot.domain.cost.meter import Meter
from bot.domain.cost.spend import Costs, bounds_of
from bot.domain.directory import MAX_MODEL_ID
from bot.domain.draft import MAX_DISPLAY_NAME, MAX_TIMEOUT_MINUTES, check_replicas
from bot.domain.errors import (
    AlreadyDecided,
    HardwareDoesNotFit,
    NotAllowed,
    NotFound,
    ProviderUnreachable,
    RequestExpired,
    UnknownModel,
    UserError,
)
from bot.domain.hints import hint_for
from bot.domain.model import EndpointRecord, LaunchDraft, LaunchRequest, RequestStatus
from bot.domain.policy.approval import check_may_decide, decided_message, window
from bot.domain.policy.budget import BudgetCheck, BudgetUse
from bot.domain.policy.quota import QuotaCheck
from bot.domain.policy.tiers import LaunchPolicy
from bot.domain.progress import TRANSITIONAL, StartupProgress
from bot.domain.provider import (
    EndpointInfo,
    EndpointProvider,
    HardwareOption,
    LaunchSpec,
    ProviderError,
    ProviderNotFound,
)
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
from bot.domain.text import mention
from bot.logs import log_context
from bot.store import Seen, Store, ask_smoke_test, clear_startup

log = logging.getLogger(__name__)

DEFAULT_INACTIVE_TIMEOUT = 60  # minutes; Together's documented default
HARDWARE_CACHE_SECONDS = 300.0
MAX_NOTE_LENGTH = 1000
# How long a process owns a launch it claimed. Longer than the slowest create call with its retries;
# when it runs out the process is taken to have died and recovery finishes the launch.
LAUNCH_LEASE = timedelta(minutes=5)
# How many create calls one request may cause when earlier ones are known not to have created anything.
MAX_LAUNCH_ATTEMPTS = 2
# Together unreachable for this long is said once in each affected thread (and its recovery too).
UNREACHABLE_REPORT_AFTER = 300.0
# Endpoints not launched by the bot read per tick to learn their display names (a v1 list has none).
DUPLICATE_READS_PER_TICK = 5
# How long what a tracker tick saw answers `busy()` (the loop asks right after the tick).
BUSY_HINT_FRESH = 1.0
# How often an ambiguous create (5xx, timeout) is followed by a look for what it may have created
# and, if nothing is found, another attempt.
AMBIGUOUS_CREATE_ATTEMPTS = 5
# An approval that loses the compare-and-set looks again; each loss means another decision was recorded,
# and a request takes only a few, so this is never reached in practice.
MAX_APPROVAL_ROUNDS = 50


class LaunchService:
    def __init__(
        self,
        store: Store,
        provider: EndpointProvider,
        catalog: Catalog,
        policy: LaunchPolicy,
        *,
        on_outbox: Callable[[], None] = lambda: None,
        on_approved: Callable[[], None] = lambda: None,
        on_launched: Callable[[], None] = lambda: None,
        on_came_up: Callable[[], None] = lambda: None,
        smoke_tests: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        launch_lease: timedelta = LAUNCH_LEASE,
        unreachable_report_after: float = UNREACHABLE_REPORT_AFTER,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.provider = provider
        self.catalog = catalog
        self.policy = policy
        self.now = now  # the clock of approvals and expiry; tests move it instead of sleeping
        self._on_outbox = on_outbox
        self._on_approved = on_approved
        self._on_launched = on_launched  # a new endpoint to follow: the tracker should look soon
        self._on_came_up = on_came_up  # an endpoint came up: its smoke test is due
        self.smoke_tests = smoke_tests  # ask for a smoke test when an endpoint comes up (bot/domain/smoke.py)
        self.sleep = sleep
        self._monotonic = monotonic
        self.launch_lease = launch_lease
        self.unreachable_report_after = unreachable_report_after
        self._unreachable_since: float | None = None
        self._busy_hint: tuple[bool, float] | None = None  # what the last tick saw, and when
        self._ready: dict[str, int | None] = {}  # the ready replicas last recorded, by endpoint (v2)
        self._other_names: dict[str, str | None] = {}  # display names of endpoints the bot did not launch
        self._checked: dict[str, frozenset[str]] = {}  # other endpoint -> the endpoints it was compared with
        self._hardware_cache: dict[str, tuple[float, list[HardwareOption]]] = {}
        self._lock = threading.Lock()
        self.costs = Costs(store, lambda: self.now())
        self.budget = BudgetCheck(policy.budgets, store, self.costs)
        self.quota = QuotaCheck(policy.limits, store, lambda r: display_name(r, self.catalog))
        # Change requests (bot/domain/changes.py) are decided here like launches; LifecycleService sets
        # how an approved one is applied and when one has gone stale.
        self.apply_change: Callable[[int], bool] = lambda _change_id: False
        self.resume_change: Callable[[LaunchRequest], None] = lambda _change: None
        self.stale_change: Callable[[LaunchRequest], str | None] = lambda _change: None
        self.close_stale_change: Callable[[LaunchRequest, str], None] = lambda _change, _why: None
        self.startup = StartupProgress(store, provider, now=lambda: self.now(), on_outbox=self._on_outbox)

    # --- hardware and validation ----------------------------------------------------------

    def hardware_for(self, model: str) -> list[HardwareOption]:
        """Hardware that fits `model`, cheapest first. Cached for a few minutes."""
        now = self._monotonic()
        with self._lock:
            cached = self._hardware_cache.get(model)
        if cached and cached[0] > now:
            return cached[1]
        try:
            options = self.provider.list_hardware(model)
        except ProviderNotFound:
            raise UnknownModel(
                f"Together has no dedicated hardware for the model `{model}`: it is unknown or cannot run on a "
                "dedicated endpoint. Check the id, or use an alias (`/endpoint help`).",
                field="model",
            ) from None
        except ProviderError as exc:
            raise ProviderUnreachable(
                f"I couldn't get the hardware list from Together ({exc}). Try again shortly."
            ) from exc
        if not options:
            raise UnknownModel(f"Together lists no hardware that can run `{model}`.", field="model")
        options = sorted(options, key=lambda h: (h.cents_per_minute, h.id))
        with self._lock:
            self._hardware_cache[model] = (now + HARDWARE_CACHE_SECONDS, options)
        return options

    def warm_hardware_cache(self) -> int:
        """Look up the hardware of every catalogue model ahead of time, so `/endpoint create` answers from
        memory within Slack's three seconds. Returns how many models were refreshed."""
        refreshed = 0
        for model in sorted(set(self.catalog.models.values())):
            with self._lock:
                self._hardware_cache.pop(model, None)
            try:
                self.hardware_for(model)
                refreshed += 1
            except UserError as exc:
                log.info("hardware for %s not cached: %s", model, exc.message.splitlines()[0])
        return refreshed

    def check_fit(self, model: str, hardware: str) -> HardwareOption:
        options = self.hardware_for(model)
        for option in options:
            if option.id == hardware:
                return option
        listing = "\n".join(
            f"• `{h.id}` ({describe_hardware(h.id)}) {format_dollars(h.dollars_per_hour)}/h per replica"
            + (f", {h.availability}" if h.availability and h.availability != "available" else "")
            for h in options
        )
        raise HardwareDoesNotFit(
            f"`{hardware}` can't run `{model}`. Hardware that fits, cheapest first:\n{listing}",
            field="hardware",
        )

    def validate(self, draft: LaunchDraft) -> HardwareOption:
        """Check a complete draft against the catalogue and the policy's limits; raises a UserError naming
        the field at fault."""
        check_replicas(draft.min_replicas, draft.max_replicas)
        if draft.inactive_timeout is not None and not 0 <= draft.inactive_timeout <= MAX_TIMEOUT_MINUTES:
            raise UserError(
                f"Auto-stop is a number of idle minutes from 0 (never stop) to {MAX_TIMEOUT_MINUTES} (a week); "
                f"{draft.inactive_timeout} is out of range.",
                field="inactive_timeout",
            )
        if draft.display_name is not None and len(draft.display_name) > MAX_DISPLAY_NAME:
            raise UserError(
                f"A display name has at most {MAX_DISPLAY_NAME} characters; this one has "
                f"{len(draft.display_name)}. Shorten it.",
                field="display_name",
            )
        self.policy.check(model=draft.model)
        option = self.check_fit(draft.model, draft.hardware)
        self.policy.check(
            hardware=draft.hardware,
            max_replicas=draft.max_replicas,
            cents_per_minute=option.cents_per_minute,
        )
        return option

    def cached_hardware(self, model: str) -> list[HardwareOption] | None:
        """The hardware that fits `model` if it is at hand (looked up in the last few minutes), else None.
        Never asks Together."""
        with self._lock:
            cached = self._hardware_cache.get(model)
        return cached[1] if cached and cached[0] > self._monotonic() else None

    def precheck(
        self, model: str | None, hardware: str | None, max_replicas: int | None, user_id: str | None = None
    ) -> list[HardwareOption] | None:
        """What `/endpoint create` can check before its form opens: the policy's limits on what was typed,
        and that the hardware fits the model. Returns the hardware that fits the model (None: no model)."""
        self.precheck_person(model, max_replicas, user_id)
        return self.precheck_hardware(model, hardware, max_replicas)

    def precheck_person(
        self, model: str | None, max_replicas: int | None, user_id: str | None = None
    ) -> None:
        """The part of `precheck` that needs no Together: the policy's limits on what was typed, and the
        person's budgets and quotas."""
        if model is not None and len(model) > MAX_MODEL_ID:
            raise UnknownModel(
                f"`{model[:60]}…` is {len(model)} characters long; a Together model id has at most "
                f"{MAX_MODEL_ID}. Check it, or use an alias (`/endpoint help` lists them).",
                field="model",
            )
        self.policy.check(model=model, max_replicas=max_replicas)
        if user_id is not None:
            self.budget.ensure_room(user_id)
            self.quota.ensure_room(user_id)

    def precheck_hardware(
        self, model: str | None, hardware: str | None, max_replicas: int | None
    ) -> list[HardwareOption] | None:
        """The part of `precheck` that may ask Together: the hardware that fits the model (None: no model),
        and that the hardware typed is among it and within the policy."""
        if model is None:
            return None
        options = self.hardware_for(model)
        if hardware:
            option = self.check_fit(model, hardware)
            self.policy.check(
                hardware=hardware, max_replicas=max_replicas, cents_per_minute=option.cents_per_minute
            )
        return options

    def estimate(self, draft: LaunchDraft, option: HardwareOption) -> CostEstimate:
        return CostEstimate(option.cents_per_minute, draft.min_replicas, draft.max_replicas)

    # --- asking ---------------------------------------------------------------------------

    def submit(self, *, team_id: str, channel_id: str, user_id: str, draft: LaunchDraft) -> LaunchRequest:
        """Record a launch request in its cost tier and queue its card. Nothing is sent to Together yet."""
        option = self.validate(draft)
        self.budget.ensure_room(user_id)
        self.quota.ensure_room(user_id)
        at_max = dollars_per_hour(option.cents_per_minute, draft.max_replicas)
        tier = self.policy.tier_for(at_max) or self.policy.tiers[-1]  # validate refused any cost above all
        now = self.now()
        expires_at = now + self.policy.expire_after if self.policy.expire_after else None
        with self.store.transaction() as tx:
            request_id = tx.insert_request(
                team_id=team_id,
                channel_id=channel_id,
                requested_by=user_id,
                draft=draft,
                cents_per_minute=option.cents_per_minute,
                tier=tier.name,
                approvals_needed=tier.approvals,
                requested_at=now,
                expires_at=expires_at,
            )
            request = tx.get_request(request_id)
            assert request is not None
            policy_detail: dict[str, Any] = {}
            if tier.name is not None:
                policy_detail.update(tier=tier.name, dollars_per_hour_at_max=at_max)
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
        progress = self.policy.progress(request)
        done = {request.requested_by, *progress.approved_by}
        return sorted(u for u in progress.tier.eligible - done if progress.may_complete(u))

    def ensure_may_decide(self, request_id: int, user_id: str, *, approving: bool = True) -> LaunchRequest:
        """The request, if `user_id` may approve (or, with `approving=False`, reject) it now; else a
        NotAllowed, AlreadyDecided, RequestExpired, BudgetSpent or TooManyRunning saying why and who can."""
        return self.decision_context(request_id, user_id, approving=approving)[0]

    def decision_context(
        self, request_id: int, user_id: str, *, approving: bool = True
    ) -> tuple[LaunchRequest, list[BudgetUse]]:
        """`ensure_may_decide`, with the requester's budgets as they stand (for the approval form)."""
        request = self._open(self._get(request_id))
        check_may_decide(self.policy, request, user_id, approving=approving)
        uses: list[BudgetUse] = []
        if request.change_of is not None:
            why = self.stale_change(request)
            if why is not None:
                self.close_stale_change(request, why)
                raise AlreadyDecided(
                    f"This change request is stale: {why}. Nothing was done; ask again with "
                    "`/endpoint scale` if it is still wanted."
                )
            if approving:  # the endpoint's budget is its launcher's; its running count does not change
                uses = self.budget.ensure_room(
                    self.owner_of(request), approving=True, doing="This change can't be approved"
                )
            return request, uses
        if approving:
            uses = self.budget.ensure_room(request.requested_by, approving=True)
            self.quota.ensure_room(request.requested_by, doing="This launch can't be approved")
        return request, uses

    def owner_of(self, request: LaunchRequest) -> str:
        """Whose endpoint a request is about: the launch's requester (also for a change of it)."""
        if request.change_of is None:
            return request.requested_by
        return self._get(request.change_of).requested_by

    def approve(self, request_id: int, user_id: str, note: str | None = None) -> LaunchRequest:
        """Count one approval; the one that completes the tier's number approves the request for launch.

        Every approval is a compare-and-set on the request's approval count, so of any number of
        simultaneous approvals each counts once (a person once) and exactly one completes the request.
        One that loses the race looks again: it may now be a repeat, the one that completes, or too late.
        """
        note = _clean(note)
        complete = False
        for _ in range(MAX_APPROVAL_ROUNDS):
            request = self.ensure_may_decide(request_id, user_id)
            progress = self.policy.progress(request)
            count = progress.count + 1
            complete = count >= request.approvals_needed
            now = self.now()
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
                    reply: dict[str, Any] = {"event": "approved", "user": user_id, "note": note}
                    counted: dict[str, Any] = {}
                    if request.approvals_needed > 1:
                        counted = {"approval": count, "of": request.approvals_needed}
                        reply.update(
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
        return self._get(request_id)

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
            reply={"event": "rejected", "user": user_id, "note": note},
            **after,
        )

    def withdraw(self, request_id: int, user_id: str) -> LaunchRequest:
        """The requester calls off their own request while nobody has decided it."""
        request = self._get(request_id)
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
            reply={"event": "withdrawn", "user": user_id},
            approvals=[a.user_id for a in request.approvals],
        )

    def _close(
        self,
        request: LaunchRequest,
        user_id: str,
        status: RequestStatus,
        *,
        decision_note: str | None,
        reply: dict[str, Any],
        **audit: Any,
    ) -> LaunchRequest:
        """End a pending request as rejected or withdrawn: its decision, audit and thread reply."""
        decision = status.value  # "rejected", "withdrawn"
        now = self.now()
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
            self._open(self._get(request.id))  # raises: decided by someone else, or expired
            raise AlreadyDecided(decided_message(self._get(request.id), self.catalog))
        self._on_outbox()
        return self._get(request.id)

    # --- expiring -------------------------------------------------------------------------

    def expire_due(self) -> int:
        """Expire every pending request whose time to be decided ran out. Returns how many this call did."""
        now = self.now()
        return sum(1 for request_id in self.store.due_expiries(now) if self._expire(request_id, now))

    def _open(self, request: LaunchRequest) -> LaunchRequest:
        """`request` if it still waits for a decision; else AlreadyDecided (RequestExpired) saying why.

        A request past its expiry is expired here and now, whether or not the sweep got to it yet.
        """
        if request.status is RequestStatus.PENDING and request.expires_at is not None:
            now = self.now()
            if request.expires_at <= now:
                self._expire(request.id, now)
                request = self._get(request.id)
        if request.status is RequestStatus.EXPIRED:
            raise RequestExpired(decided_message(request, self.catalog))
        if request.status is not RequestStatus.PENDING:
            raise AlreadyDecided(decided_message(request, self.catalog))
        return request

    def _expire(self, request_id: int, now: datetime) -> bool:
        """Pending -> expired (compare-and-set); the card loses its buttons and the thread says so.
        True only for the caller that expired it."""
        request = self._get(request_id)
        with self.store.transaction() as tx:
            if not tx.expire_request(request_id, now):
                return False
            tx.announce(
                request,
                actor="bot",
                action=audited(request, "expired"),
                reply={"event": "expired", "requester": request.requested_by},
                waited=window(request),
                approvals=[a.user_id for a in request.approvals],
                approvals_needed=request.approvals_needed,
            )
        self._on_outbox()
        return True

    # --- launching ------------------------------------------------------------------------

    def launch_approved(self) -> int:
        """Launch every approved request not yet claimed. Returns how many this call launched."""
        launched = 0
        for request in self.store.requests(statuses=[RequestStatus.APPROVED]):
            if request.change_of is not None:
                self.apply_change(request.id)  # one PATCH, by whichever process claims it
            elif self.launch(request.id):
                launched += 1
        return launched

    def launch(self, request_id: int) -> bool:
        """Claim an approved request and create its endpoint. Only the claimant calls Together.

        The claim (status LAUNCHING, a lease, an attempt count) is committed before the call, so a process
        that dies during the call leaves a record that `recover_launches` finishes: it adopts the endpoint
        if Together made one, or tries once more if not.
        """
        with self.store.transaction() as tx:
            if not tx.claim_launch(request_id, self.launch_lease):
                return False
            request = tx.get_request(request_id)
            assert request is not None
            tx.record(team_id=request.team_id, actor="bot", action="launch_started", request_id=request_id)
        self._launch_claimed(request)
        return True

    def recover_launches(self) -> int:
        """Finish launches whose process died mid-call (their claim ran out). Returns how many it took over."""
        taken = 0
        for request_id in self.store.stale_launches():
            with self.store.transaction() as tx:
                attempts = tx.reclaim_launch(request_id, self.launch_lease)
                request = tx.get_request(request_id) if attempts is not None else None
            if attempts is None or request is None:
                continue  # another process took it over first
            taken += 1
            if request.change_of is not None:
                # The PATCH sets the bounds asked for: sending it again does what the first one did.
                log.info("recovering change request %s: applying it again", request_id)
                self.resume_change(request)
                continue
            spec = self.spec_for(request)
            if getattr(self.provider, "idempotent_create", False):
                # The provider recognises its own earlier attempt (v2: the name is unique per project), so
                # creating again adopts and completes whatever the dead process started.
                log.info(
                    "recovering request %s: creating again, which resumes an earlier attempt", request_id
                )
                self._launch_claimed(request)
                continue
            try:
                found = self._find_created(spec)
            except ProviderError as exc:
                # Cannot tell whether it exists; keep the claim to run out and look again later.
                log.warning("recovering request %s: could not look for its endpoint: %s", request_id, exc)
                continue
            if found is not None:
                log.info("recovering request %s: adopting %s", request_id, found.id)
                self._record_launch(request, found, adopted=True)
            elif attempts < MAX_LAUNCH_ATTEMPTS:
                log.info(
                    "recovering request %s: Together has no endpoint for it; trying once more", request_id
                )
                with self.store.transaction() as tx:
                    tx.count_attempt(request_id)
                    tx.record(
                        team_id=request.team_id, actor="bot", action="launch_retried", request_id=request_id
                    )
                self._launch_claimed(request)
            else:
                self._fail(
                    request,
                    ProviderError(
                        "The bot stopped while creating this endpoint, twice, and Together shows no endpoint for it.",
                        code="launch_interrupted",
                    ),
                )
        return taken

    def _launch_claimed(self, request: LaunchRequest) -> None:
        with log_context(request_id=request.id, user_id=request.requested_by):
            spec = self.spec_for(request)
            try:
                info = self._create(request, spec)
            except ProviderError as exc:
                log.warning("launch of request %s failed: %s", request.id, exc)
                self._fail(request, exc)
                return
            with log_context(endpoint_id=info.id):
                self._record_launch(request, info)

    def spec_for(self, request: LaunchRequest) -> LaunchSpec:
        draft = request.draft
        return LaunchSpec(
            model=draft.model,
            hardware=draft.hardware,
            min_replicas=draft.min_replicas,
            max_replicas=draft.max_replicas,
            display_name=draft.display_name or self.default_display_name(request),
            inactive_timeout=draft.inactive_timeout,
            disable_prompt_cache=not draft.prompt_cache,
            disable_speculative_decoding=not draft.speculative_decoding,
            start=draft.start_now,
        )

    def default_display_name(self, request: LaunchRequest) -> str:
        """Unique per request, so an endpoint whose create answer was lost can be recognised."""
        return default_display_name(request, self.catalog)

    def _create(self, request: LaunchRequest, spec: LaunchSpec) -> EndpointInfo:
        for attempt in range(1, AMBIGUOUS_CREATE_ATTEMPTS + 1):
            try:
                return self.provider.create_endpoint(spec)
            except ProviderError as exc:
                if not exc.ambiguous or attempt == AMBIGUOUS_CREATE_ATTEMPTS:
                    raise
                if getattr(self.provider, "idempotent_create", False):
                    self.sleep(min(2.0 * attempt, 10.0))
                    continue  # asking again resumes the earlier attempt instead of duplicating it
                log.warning(
                    "create for request %s may or may not have happened (%s); looking", request.id, exc
                )
                self.sleep(min(2.0 * attempt, 10.0))
                found = self._find_created(spec)
                if found is not None:
                    log.info("request %s: adopting %s, created by the unanswered call", request.id, found.id)
                    return found
        raise AssertionError("unreachable")

    def _find_created(self, spec: LaunchSpec) -> EndpointInfo | None:
        """An endpoint the bot does not track yet with this request's model, hardware and display name.

        Creation times are not compared: Together's clock and ours need not agree. The default display
        name carries the request number, so a match is this request's own endpoint.
        """
        known = {e.id for e in self.store.tracked_endpoints()}
        for item in self.provider.list_endpoints():
            if item.id in known or item.model != spec.model:
                continue
            detail = self.provider.get_endpoint(item.id)
            if detail.display_name == spec.display_name and (detail.hardware in (None, spec.hardware)):
                return detail
        return None

    def _record_launch(self, request: LaunchRequest, info: EndpointInfo, *, adopted: bool = False) -> None:
        with self.store.transaction() as tx:
            if not tx.move_request(
                request.id,
                [RequestStatus.LAUNCHING],
                RequestStatus.LAUNCHED,
                launched_at=utcnow(),
                claimed_until=None,
            ):
                log.warning(
                    "request %s was recorded by another process; %s not recorded twice", request.id, info.id
                )
                return
            tx.insert_endpoint(
                endpoint_id=info.id,
                request_id=request.id,
                team_id=request.team_id,
                name=info.name,
                model=info.model or request.draft.model,
                hardware=info.hardware or request.draft.hardware,
                state=info.state,
                seen=self.seen(request, info),
            )
            if info.inactive_timeout is not None and info.inactive_timeout != request.draft.inactive_timeout:
                # Together applied another auto-stop than asked (v2 raises 1-29 minutes to 30): show its own
                tx.set_endpoint_settings(info.id, inactive_timeout=info.inactive_timeout)
            tx.announce(
                request,
                actor="bot",
                action="launched",
                reply={"event": "launched", "endpoint_id": info.id, "name": info.name, "state": info.state},
                endpoint_id=info.id,
                name=info.name,
                state=info.state,
                adopted=adopted,
            )
        self._on_outbox()
        self._on_launched()

    def _fail(self, request: LaunchRequest, error: ProviderError) -> None:
        with self.store.transaction() as tx:
            tx.move_request(
                request.id,
                [RequestStatus.LAUNCHING],
                RequestStatus.FAILED,
                error_code=(error.code or error.type or (str(error.status) if error.status else None)),
                error_message=error.message[:2000],
                claimed_until=None,
            )
            tx.announce(
                request,
                actor="together",
                action="launch_failed",
                reply={
                    "event": "launch_failed",
                    "status": error.status,
                    "code": error.code or error.type,
                    "message": error.message,
                    "hint": hint_for(error),
                    "requester": request.requested_by,
                },
                status=error.status,
                code=error.code,
                message=error.message,
            )
        self._on_outbox()

    # --- following state ------------------------------------------------------------------

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
            tx.mark_seen((e.id for e in tracked if e.id in current), self.now())
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
        self._busy_hint = (busy, self._monotonic())
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
        request = request or self._get(endpoint.request_id)
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
            self.spec_for(requests[e.request_id]).display_name: e for e in tracked if e.request_id in requests
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
                {
                    "event": "duplicate",
                    "endpoint_id": other.id,
                    "name": other.name,
                    "display_name": self._other_names.get(other.id),
                    "state": other.state,
                    "created_at": other.created_at.isoformat() if other.created_at else None,
                    "launched": launched.id,
                    "requester": request.requested_by,
                    "approvers": request.approvers,
                },
            )
        self._on_outbox()

    def busy(self) -> bool:
        """Whether any tracked endpoint is between states, or waits to be deleted (the tracker then polls
        at its faster pace). Right after a tick, what that tick saw answers without another query."""
        hint, self._busy_hint = self._busy_hint, None
        if hint is not None and self._monotonic() - hint[1] < BUSY_HINT_FRESH:
            return hint[0]
        return any(
            e.state not in SETTLED or e.delete_requested_at is not None
            for e in self.store.tracked_endpoints()
        )

    def _note_unreachable(self, tracked: list[EndpointRecord], error: ProviderError) -> None:
        now = self._monotonic()
        if self._unreachable_since is None:
            self._unreachable_since = now
        if now - self._unreachable_since < self.unreachable_report_after:
            return
        minutes = max(1, round((now - self._unreachable_since) / 60))
        for endpoint in tracked:
            if endpoint.problem is not None:
                continue
            request = self._get(endpoint.request_id)
            with self.store.transaction() as tx:
                if not tx.set_problem(endpoint.id, "unreachable"):
                    continue  # another process said it already
                tx.reply(
                    request,
                    {
                        "event": "unreachable",
                        "minutes": minutes,
                        "message": error.message,
                        "status": error.status,
                    },
                )
        self._on_outbox()

    def _clear_problem(self, endpoint: EndpointRecord, seen: EndpointInfo) -> None:
        request = self._get(endpoint.request_id)
        with self.store.transaction() as tx:
            if tx.set_problem(endpoint.id, None):
                tx.reply(
                    request,
                    {"event": "reachable", "state": seen.state},
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
        request = request or self._get(endpoint.request_id)
        with log_context(request_id=request.id, endpoint_id=endpoint.id):
            return self._record_state(endpoint, seen, request, came_up)

    def _record_state(
        self, endpoint: EndpointRecord, seen: EndpointInfo, request: LaunchRequest, came_up: bool | None
    ) -> bool:
        now = self.now()
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
                reply={
                    "event": "state",
                    "state": seen.state,
                    "previous": endpoint.state,
                    "endpoint_id": endpoint.id,
                    "name": seen.name or endpoint.name,
                    "requester": request.requested_by,
                    # v2 reports replicas and a reason with its states; v1 does not (None: not shown)
                    "ready_replicas": seen.ready_replicas,
                    "desired_replicas": seen.desired_replicas,
                    "status_message": seen.status_message,
                    # Coming up (not a rescale while serving) is worth the channel's attention, once.
                    "came_up": came_up,
                    "smoke_test": came_up and self.smoke_tests,
                    **ran,
                },
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
        low, high = bounds_of(request)
        state = state or (info.state if info is not None else None)
        return Seen(
            at=at or self.now(),
            ready_replicas=info.ready_replicas if info is not None else None,
            min_replicas=low,
            max_replicas=high,
            end_reminders=state is not None and state not in SERVING,
        )

    # --- reading --------------------------------------------------------------------------

    def _get(self, request_id: int) -> LaunchRequest:
        request = self.store.get_request(request_id)
        if request is None:
            raise NotFound(f"There is no launch request #{request_id}.")
        return request

    def get(self, request_id: int) -> LaunchRequest:
        return self._get(request_id)

    def hourly_range(self, request: LaunchRequest) -> tuple[float, float]:
        d = request.draft
        return (
            dollars_per_hour(request.cents_per_minute, d.min_replicas),
            dollars_per_hour(request.cents_per_minute, d.max_replicas),
        )


def audited(request: LaunchRequest, action: str) -> str:
    """The audit action of a decision: `approved` for a launch, `change_approved` for a change."""
    return f"change_{action}" if request.change_of is not None else action


def _clean(note: str | None) -> str | None:
    return (note or "").strip()[:MAX_NOTE_LENGTH] or None


def default_display_name(request: LaunchRequest, catalog: Catalog) -> str:
    """`<alias>-r<request number>`: unique per request."""
    alias = catalog.alias_for(request.draft.model) or request.draft.model.rsplit("/", 1)[-1]
    return f"{alias}-r{request.id}"


def display_name(request: LaunchRequest, catalog: Catalog) -> str:
    """The endpoint's display name now: as renamed, else as asked, else the default."""
    renamed = request.endpoint.display_name if request.endpoint is not None else None
    return renamed or request.draft.display_name or default_display_name(request, catalog)


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
