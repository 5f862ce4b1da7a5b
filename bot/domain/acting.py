"""What every act on a running endpoint shares: finding it by any name, checking who asks and its
state, the one call to Together, and the record of what was done (lifecycle.py holds the acts).

A refusal by Together is recorded and replied in the endpoint's thread; a state seen on the way is
recorded as the tracker would, so a stop racing a stop made in Together's console ends in one answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from bot.domain.catalog import Catalog
from bot.domain.checks import LaunchChecks
from bot.domain.clock import Clock
from bot.domain.cost.estimate import CostEstimate
from bot.domain.cost.spend import Costs
from bot.domain.errors import NotFound, ProviderUnreachable, UserError
from bot.domain.events import ActionDone, ActionFailed
from bot.domain.hints import V1_CREATE_DISABLED, hint_for
from bot.domain.model import EndpointRecord, LaunchRequest
from bot.domain.names import default_display_name
from bot.domain.policy.access import Act, Policy
from bot.domain.provider import (
    EndpointInfo,
    EndpointProvider,
    ProviderBadRequest,
    ProviderConflict,
    ProviderError,
    ProviderForbidden,
    ProviderNotFound,
    ProviderPaymentRequired,
)
from bot.domain.running import (
    ActionRefused,
    Ambiguous,
    Managed,
    Outcome,
    StateForbids,
    match_refs,
    quoted,
)
from bot.domain.states import GONE, forbids_start, forbids_stop
from bot.domain.text import mention
from bot.domain.tracker import Tracker, ran_in_all, replace_state
from bot.store import Seen, Store


class OpenChanges(Protocol):
    """The change requests of an endpoint, as an act that overtakes them needs them (ChangeRequests)."""

    def close_overtaken(self, request: LaunchRequest) -> None: ...


# The audit action recorded for each act (past tense, like "requested" and "launched").
RECORDED = {
    Act.STOP: "stopped",
    Act.START: "started",
    Act.SCALE: "scaled",
    Act.RENAME: "renamed",
    Act.TIMEOUT: "timeout_changed",
    Act.DELETE: "deleted",
}

# Why an act makes no sense in a state (None: it does), for both Together APIs' state names.
FORBIDDEN: dict[Act, Callable[[str], str | None]] = {Act.START: forbids_start, Act.STOP: forbids_stop}


def forbidden(act: Act, state: str) -> str | None:
    rule = FORBIDDEN.get(act)
    return rule(state) if rule else None


class EndpointActs:
    """The shared half of LifecycleService: its state, set by LifecycleService.__init__."""

    store: Store
    provider: EndpointProvider
    tracker: Tracker
    checks: LaunchChecks
    clock: Clock
    costs: Costs
    catalog: Catalog
    policy: Policy
    changes: OpenChanges
    on_outbox: Callable[[], None]
    _on_acted: Callable[[], None]

    # --- finding --------------------------------------------------------------------------

    def managed(self, *, include_deleted: bool = False) -> list[Managed]:
        endpoints = self.store.endpoints(include_deleted=include_deleted)
        requests = self.store.get_requests(e.request_id for e in endpoints)  # one batch, not one per endpoint
        return [self.managed_of(requests[e.request_id], e) for e in endpoints if e.request_id in requests]

    def resolve(self, ref: str, *, include_deleted: bool = False) -> Managed:
        """The one endpoint `ref` names: id, Together name, display name, or a prefix of any."""
        word = ref.strip()
        if not word:
            raise UserError("Say which endpoint: its id, name or display name (`/endpoint list` shows them).")
        candidates = self.managed(include_deleted=include_deleted)
        found = match_refs(word, candidates, lambda m: m.refs())
        if len(found) == 1:
            return found[0]
        if found:
            lines = "\n".join(
                f"• {m.label} ({quoted(m.id)}, {m.state}, launched by {mention(m.requested_by)})"
                for m in found[:10]
            )
            raise Ambiguous(
                f"{quoted(word)} matches {len(found)} endpoints:\n{lines}\nType more of the name, or the id.",
                found,
            )
        if not include_deleted:
            gone = match_refs(
                word, [m for m in self.managed(include_deleted=True) if m.endpoint.deleted_at], Managed.refs
            )
            if len(gone) == 1 and gone[0].endpoint.deleted_at is not None:
                raise NotFound(
                    f"{gone[0].label} was deleted on {gone[0].endpoint.deleted_at:%Y-%m-%d %H:%M} UTC. "
                    f"`/endpoint history {gone[0].id}` shows what happened."
                )
        raise NotFound(
            f"I don't know an endpoint {quoted(word)}. `/endpoint list` shows the endpoints launched through the "
            "bot; `/endpoint list all` adds the account's others."
        )

    def get(self, endpoint_id: str) -> Managed:
        """By id, as a confirmation dialog carries it; a deleted endpoint is not found."""
        endpoint = self.store.endpoint(endpoint_id)
        request = self.store.get_request(endpoint.request_id) if endpoint else None
        if endpoint is None or request is None:
            raise NotFound(f"I don't know an endpoint `{endpoint_id}`. `/endpoint list` shows them.")
        managed = self.managed_of(request, endpoint)
        if endpoint.deleted_at is not None:
            raise NotFound(f"{managed.label} has been deleted already. Nothing was done.")
        return managed

    def managed_of(self, request: LaunchRequest, endpoint: EndpointRecord) -> Managed:
        d = request.draft
        return Managed(
            request=request,
            endpoint=endpoint,
            display_name=endpoint.display_name
            or d.display_name
            or default_display_name(request, self.catalog),
            min_replicas=endpoint.min_replicas if endpoint.min_replicas is not None else d.min_replicas,
            max_replicas=endpoint.max_replicas if endpoint.max_replicas is not None else d.max_replicas,
            inactive_timeout=(
                endpoint.inactive_timeout if endpoint.inactive_timeout is not None else d.inactive_timeout
            ),
        )

    # --- the steps every act shares --------------------------------------------------------

    def _check(self, act: Act, managed: Managed, user_id: str, *, state: str | None = None) -> None:
        self.policy.ensure(user_id, act, managed.requested_by, managed.label)
        asked = managed.endpoint.delete_requested_by
        if asked is not None:
            raise StateForbids(
                f"{managed.label} is being deleted ({mention(asked)} asked): Together is stopping it first, "
                "and the bot deletes it once it is STOPPED. Nothing was done."
            )
        state = state or managed.state
        why = forbidden(act, state)
        if why:
            raise StateForbids(f"{managed.label} {why}. Nothing was done.")

    def _fresh_for(self, act: Act, endpoint_id: str, user_id: str) -> tuple[Managed, str]:
        """Check against what the bot knows, then against Together's state right now.

        A difference is recorded (and replied in the thread) as the tracker would, so a stop racing a
        stop made in Together's console ends in one clear answer and no needless call.
        """
        managed = self.get(endpoint_id)
        self._check(act, managed, user_id)
        info = self._read(managed)
        if info.state != managed.state:
            why = forbidden(act, info.state)
            if why:
                raise StateForbids(
                    f"Together reports that {managed.label} {why} (it changed since the bot last looked: "
                    f"{managed.state} → {info.state}). Nothing was done."
                )
        return managed, info.state

    def _last_ready(self, endpoint_id: str) -> int | None:
        history = self.store.observations([endpoint_id])[endpoint_id]
        return history[-1].ready_replicas if history else None

    def _read(self, managed: Managed) -> EndpointInfo:
        """Together's view of a bot endpoint; records a state change, or the endpoint's disappearance."""
        try:
            info = self.provider.get_endpoint(managed.id)
        except ProviderNotFound:
            self.tracker.record_state(managed.endpoint, replace_state(managed.endpoint, GONE))
            raise NotFound(
                f"Together no longer knows {managed.label}: it was deleted outside the bot. "
                "The bot has stopped following it."
            ) from None
        except ProviderError as exc:
            raise ProviderUnreachable(
                f"I couldn't ask Together about {managed.label} ({exc}). Nothing was done; try again shortly."
            ) from exc
        if info.state != managed.state:
            self.tracker.record_state(managed.endpoint, info)
        return info

    def _read_external(self, endpoint_id: str) -> EndpointInfo:
        try:
            return self.provider.get_endpoint(endpoint_id)
        except ProviderError as exc:
            raise ProviderUnreachable(f"I couldn't ask Together about `{endpoint_id}` ({exc}).") from exc

    def _provider_list(self) -> list[EndpointInfo]:
        try:
            return self.provider.list_endpoints()
        except ProviderError as exc:
            raise ProviderUnreachable(
                f"I couldn't get the account's endpoints from Together ({exc}). Try again shortly."
            ) from exc

    def _adopt_settings(self, managed: Managed, info: EndpointInfo) -> None:
        """Settings changed outside the bot (Together's console) become what the bot shows."""
        seen: dict[str, Any] = {}
        if info.display_name and info.display_name != managed.display_name:
            seen["display_name"] = info.display_name
        if info.min_replicas is not None and info.min_replicas != managed.min_replicas:
            seen["min_replicas"] = info.min_replicas
        if info.max_replicas is not None and info.max_replicas != managed.max_replicas:
            seen["max_replicas"] = info.max_replicas
        if not seen:
            return
        with self.store.transaction() as tx:
            tx.set_endpoint_settings(managed.id, **seen)
            tx.announce(
                managed.request,
                actor="together",
                action="settings_seen",
                reply=None,
                endpoint_id=managed.id,
                **seen,
            )
        self.on_outbox()

    def call_together(
        self,
        act: Act,
        managed: Managed,
        user_id: str,
        call: Callable[[], EndpointInfo],
        asked: dict[str, Any] | None = None,
    ) -> EndpointInfo:
        """Make the one call to Together; a refusal is recorded, replied in the thread and raised."""
        try:
            return call()
        except ProviderNotFound:
            self.tracker.record_state(managed.endpoint, replace_state(managed.endpoint, GONE))
            raise NotFound(
                f"Together no longer knows {managed.label}: it was deleted outside the bot. "
                "The bot has stopped following it."
            ) from None
        except ProviderError as exc:
            hint = self._refused(act, managed, user_id, exc, asked)
            raise ActionRefused(act, managed.label, exc, hint) from exc

    def _refused(
        self,
        act: Act,
        managed: Managed,
        user_id: str,
        exc: ProviderError,
        asked: dict[str, Any] | None = None,
    ) -> str:
        """Record Together's refusal of an act and reply it in the thread; returns the hint given."""
        hint = action_hint(act, exc, managed)
        request = managed.request
        with self.store.transaction() as tx:
            tx.record(
                team_id=request.team_id,
                actor=user_id,
                action=f"{act.value}_failed",
                request_id=request.id,
                endpoint_id=managed.id,
                status=exc.status,
                code=exc.code or exc.type,
                message=exc.message,
                **(asked or {}),
            )
            tx.reply(
                request,
                ActionFailed(
                    action=act.value,
                    user=user_id,
                    status=exc.status,
                    code=exc.code or exc.type,
                    message=exc.message,
                    hint=hint,
                ),
            )
        self.on_outbox()
        return hint

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
    ) -> Outcome:
        """Record what was done and what Together answered; queue the thread reply and the card."""
        request = managed.request
        # Compared with the state stored now: the tracker may have recorded a change meanwhile.
        current = self.store.endpoint(managed.id) if known is not None and state != known else None
        now = self.clock.now()
        if act is Act.DELETE:
            detail.update(ran_in_all(self.costs.of(request, at=now)))
        seen = self.tracker.seen(request, at=now, state=state)
        with self.store.transaction() as tx:
            if current is not None and current.state != state:
                tx.move_endpoint_state(managed.id, current.state, state, seen)
            if act is Act.DELETE:
                tx.mark_endpoint_deleted(managed.id)
            if settings:
                tx.set_endpoint_settings(managed.id, **settings)
            if act is Act.SCALE and settings:
                # New bounds from now on: the meter's range follows them (v2's ready count stays as seen).
                latest = self.store.endpoint(managed.id)
                ready = self._last_ready(managed.id)
                tx.add_observation(
                    managed.id,
                    latest.state if latest is not None else state,
                    Seen(
                        at=now,
                        ready_replicas=ready,
                        min_replicas=settings["min_replicas"],
                        max_replicas=settings["max_replicas"],
                    ),
                )
            facts = {**(settings or {}), **detail, **({"previous": previous} if previous else {})}
            tx.announce(
                request,
                actor=user_id,
                action=RECORDED[act],
                # `facts` may name the new display name (a rename): it wins over the current one
                reply=ActionDone(
                    action=act.value,
                    user=user_id,
                    state=state,
                    **({"display_name": managed.display_name} | facts),
                ),
                endpoint_id=managed.id,
                state=state,
                **facts,
            )
        self.on_outbox()
        self._on_acted()
        if act in (Act.SCALE, Act.START, Act.STOP, Act.DELETE):
            self.changes.close_overtaken(request)
        endpoint = self.store.endpoint(managed.id)
        after = self.managed_of(request, endpoint) if endpoint is not None else managed
        return Outcome(act, managed, after, state)


def action_hint(act: Act, error: ProviderError, managed: Managed) -> str:
    """What to do when Together refuses an act: its words come with this."""
    code = f"{error.code or ''} {error.type or ''} {error.message}"
    if isinstance(error, ProviderForbidden) and V1_CREATE_DISABLED in code:
        return (
            "Together has switched off starting v1 endpoints again once they are stopped (the same switch "
            "that stops new v1 launches), so this endpoint cannot be restarted through the v1 API. Launch a "
            "new endpoint on Together's v2 API, or ask Together's support."
        )
    if isinstance(error, ProviderConflict):
        return (
            f"Together says {managed.label}'s current state does not allow this. "
            f"`/endpoint status {managed.id}` shows where it is; try again once it settles."
        )
    if isinstance(error, ProviderPaymentRequired):
        return "The Together account is out of credit or at its spending limit. Add credit, then try again."
    if isinstance(error, ProviderBadRequest):
        if "not available now" in error.message.lower() or "capacity" in error.message.lower():
            return "Together has no capacity for this endpoint's hardware right now. Try again later."
        return "Together rejected the change as sent. Check the values and try again."
    return hint_for(error)


def cost_range(cost: CostEstimate) -> list[float]:
    """[$/h at min, $/h at max], as recorded in the audit trail."""
    return [cost.at_min, cost.at_max]
