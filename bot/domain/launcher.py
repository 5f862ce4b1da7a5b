"""The launcher: creates each approved request's endpoint at Together exactly once.

A launch is claimed (a compare-and-set with a lease) before the create call, so of any number of
processes one calls Together; a process that dies mid-call leaves a claim that runs out, and recovery
adopts what Together made or tries once more. A create whose answer is lost (5xx, timeout) is followed
by a look for what it may have created (v1), or simply sent again where Together recognises a repeat (v2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from bot.domain.catalog import Catalog
from bot.domain.changes import ChangeHooks, NoChanges
from bot.domain.clock import Clock, utcnow
from bot.domain.events import Launched, LaunchFailed
from bot.domain.hints import hint_for
from bot.domain.model import LaunchRequest, RequestStatus
from bot.domain.names import launch_spec
from bot.domain.provider import EndpointInfo, EndpointProvider, LaunchSpec, ProviderError
from bot.domain.tracker import observed
from bot.logs import log_context
from bot.store import Store

log = logging.getLogger(__name__)

# How long a process owns a launch it claimed. Longer than the slowest create call with its retries;
# when it runs out the process is taken to have died and recovery finishes the launch.
LAUNCH_LEASE = timedelta(minutes=5)
# How many create calls one request may cause when earlier ones are known not to have created anything.
MAX_LAUNCH_ATTEMPTS = 2
# How often an ambiguous create (5xx, timeout) is followed by a look for what it may have created
# and, if nothing is found, another attempt.
AMBIGUOUS_CREATE_ATTEMPTS = 5


class Launcher:
    def __init__(
        self,
        store: Store,
        provider: EndpointProvider,
        catalog: Catalog,
        clock: Clock,
        *,
        on_outbox: Callable[[], None] = lambda: None,
        on_launched: Callable[[], None] = lambda: None,
        launch_lease: timedelta = LAUNCH_LEASE,
    ) -> None:
        self.store = store
        self.provider = provider
        self.catalog = catalog
        self.clock = clock
        self._on_outbox = on_outbox
        self._on_launched = on_launched  # a new endpoint to follow: the tracker should look soon
        self.launch_lease = launch_lease
        # Approved change requests are applied by the lifecycle (set once it exists).
        self.changes: ChangeHooks = NoChanges()

    def launch_approved(self) -> int:
        """Launch every approved request not yet claimed. Returns how many this call launched."""
        launched = 0
        for request in self.store.requests(statuses=[RequestStatus.APPROVED]):
            if request.change_of is not None:
                self.changes.apply(request.id)  # one PATCH, by whichever process claims it
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
                self.changes.apply_claimed(request)
                continue
            spec = self.spec_for(request)
            if self.provider.idempotent_create:
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
        return launch_spec(request, self.catalog)

    def _create(self, request: LaunchRequest, spec: LaunchSpec) -> EndpointInfo:
        for attempt in range(1, AMBIGUOUS_CREATE_ATTEMPTS + 1):
            try:
                return self.provider.create_endpoint(spec)
            except ProviderError as exc:
                if not exc.ambiguous or attempt == AMBIGUOUS_CREATE_ATTEMPTS:
                    raise
                if self.provider.idempotent_create:
                    self.clock.sleep(min(2.0 * attempt, 10.0))
                    continue  # asking again resumes the earlier attempt instead of duplicating it
                log.warning(
                    "create for request %s may or may not have happened (%s); looking", request.id, exc
                )
                self.clock.sleep(min(2.0 * attempt, 10.0))
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
                seen=observed(request, info, at=self.clock.now()),
            )
            if info.inactive_timeout is not None and info.inactive_timeout != request.draft.inactive_timeout:
                # Together applied another auto-stop than asked (v2 raises 1-29 minutes to 30): show its own
                tx.set_endpoint_settings(info.id, inactive_timeout=info.inactive_timeout)
            tx.announce(
                request,
                actor="bot",
                action="launched",
                reply=Launched(endpoint_id=info.id, name=info.name, state=info.state),
                endpoint_id=info.id,
                name=info.name,
                state=info.state,
                adopted=adopted,
            )
        self._on_outbox()
        self._on_launched()

    def _fail(self, request: LaunchRequest, error: ProviderError) -> None:
        with self.store.transaction() as tx:
            if not tx.move_request(
                request.id,
                [RequestStatus.LAUNCHING],
                RequestStatus.FAILED,
                error_code=(error.code or error.type or (str(error.status) if error.status else None)),
                error_message=error.message[:2000],
                claimed_until=None,
            ):
                # Another process recorded this request meanwhile (e.g. recovery adopted its endpoint):
                # its outcome stands, and the thread must not also hear that the launch failed.
                log.warning(
                    "request %s was recorded by another process; its failure is not recorded", request.id
                )
                return
            tx.announce(
                request,
                actor="together",
                action="launch_failed",
                reply=LaunchFailed(
                    status=error.status,
                    code=error.code or error.type,
                    message=error.message,
                    hint=hint_for(error),
                    requester=request.requested_by,
                ),
                status=error.status,
                code=error.code,
                message=error.message,
            )
        self._on_outbox()
