""" "Still running" reminders: an endpoint serving longer than the interval gets a thread reply naming its
requester, with what it has cost, and again every interval until it stops or someone keeps it running.

Each reminder is a compare-and-set on the endpoint's `next_reminder_at`, so several bot processes send it
once. The schedule is cleared in the same update that records a state that does not serve (see
Tracker.seen in tracker.py), and scheduled again, from the start of the new run, when it serves again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.domain.cost.meter import measure, serving_since
from bot.domain.cost.spend import bounds_of
from bot.domain.errors import NotFound
from bot.domain.events import KeptRunning, Reminder
from bot.domain.launch import LaunchService
from bot.domain.model import EndpointRecord, LaunchRequest
from bot.domain.names import display_name
from bot.domain.policy.access import Act, Policy
from bot.domain.running import StateForbids, quoted
from bot.domain.states import SERVING
from bot.store import Store

log = logging.getLogger(__name__)


class Reminders:
    def __init__(
        self,
        store: Store,
        launches: LaunchService,
        policy: Policy,
        interval: timedelta | None,
        *,
        on_outbox: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.launches = launches
        self.policy = policy
        self.interval = interval  # None: reminders are off
        self._on_outbox = on_outbox

    def send_due(self) -> int:
        """Schedule reminders for endpoints that started serving, and send those due. Returns how many
        this call sent. Run from the tracker loop."""
        if self.interval is None:
            return 0
        now = self.launches.now()
        serving = self.store.endpoints_in(SERVING)
        if not serving:
            return 0
        unscheduled = [e for e in serving if e.next_reminder_at is None]
        history = self.store.observations(e.id for e in unscheduled)
        for endpoint in unscheduled:
            since = serving_since(history[endpoint.id])
            if since is None:
                continue
            with self.store.transaction() as tx:
                tx.schedule_reminder(
                    endpoint.id, state=endpoint.state, expected=None, at=since + self.interval
                )
        due = [
            e for e in self.store.endpoints_in(SERVING) if e.next_reminder_at and e.next_reminder_at <= now
        ]
        requests = self.store.get_requests(e.request_id for e in due) if due else {}
        return sum(1 for e in due if (r := requests.get(e.request_id)) and self._remind(e, r))

    def _remind(self, endpoint: EndpointRecord, request: LaunchRequest) -> bool:
        assert self.interval is not None
        now = self.launches.now()
        history = self.store.observations([endpoint.id])[endpoint.id]
        since = serving_since(history) or now
        run = measure(history, request.cents_per_minute, bounds=bounds_of(request), now=now, since=since)
        hourly = list(run.hourly_now) if run.hourly_now is not None else None
        escalate = self._unanswered(request, endpoint.id, since)
        with self.store.transaction() as tx:
            if not tx.schedule_reminder(
                endpoint.id, state=endpoint.state, expected=endpoint.next_reminder_at, at=now + self.interval
            ):
                return False  # another process sent it, or the endpoint stopped meanwhile
            tx.announce(
                request,
                actor="bot",
                action="reminded",
                reply=Reminder(
                    requester=request.requested_by,
                    endpoint_id=endpoint.id,
                    display_name=display_name(request, self.launches.catalog),
                    running_seconds=int((now - since).total_seconds()),
                    cost=[run.low, run.high],
                    hourly=hourly,
                    interval_hours=self.interval.total_seconds() / 3600,
                    escalate_to=escalate,
                ),
                endpoint_id=endpoint.id,
                escalated_to=escalate,
                running_since=since.isoformat(),
                next_reminder_at=(now + self.interval).isoformat(),
            )
        self._on_outbox()
        return True

    def _unanswered(self, request: LaunchRequest, endpoint_id: str, since: datetime) -> list[str]:
        """When this run's last reminder went unanswered (nobody kept it running, and it still runs), the
        people to tell as well: whoever approved the launch. Empty otherwise."""
        last_reminder = last_kept = None
        for event in self.store.events(request.id):
            if event["endpoint_id"] != endpoint_id or event["at"] < since:
                continue
            if event["action"] == "reminded":
                last_reminder = event["at"]
            elif event["action"] == "kept_running":
                last_kept = event["at"]
        if last_reminder is None or (last_kept is not None and last_kept >= last_reminder):
            return []
        return [u for u in dict.fromkeys(request.approvers) if u != request.requested_by]

    def keep(self, endpoint_id: str, user_id: str) -> EndpointRecord:
        """`user_id` keeps the endpoint running: no reminder for another interval. Who may stop it may keep
        it; recorded in the audit and said in the thread."""
        endpoint = self.store.endpoint(endpoint_id)
        request = self.store.get_request(endpoint.request_id) if endpoint is not None else None
        if endpoint is None or request is None or endpoint.deleted_at is not None:
            raise NotFound("That endpoint no longer exists. Nothing was done.")
        label = quoted(display_name(request, self.launches.catalog))
        self.policy.ensure(user_id, Act.STOP, request.requested_by, label)
        if endpoint.state not in SERVING or self.interval is None:
            raise StateForbids(f"{label} is not running now ({endpoint.state}). Nothing was done.")
        until = self.launches.now() + self.interval
        with self.store.transaction() as tx:
            if not tx.schedule_reminder(
                endpoint.id, state=endpoint.state, expected=endpoint.next_reminder_at, at=until
            ):
                raise StateForbids(f"{label} changed meanwhile; look at its thread and try again.")
            tx.announce(
                request,
                actor=user_id,
                action="kept_running",
                reply=KeptRunning(user=user_id, interval_hours=self.interval.total_seconds() / 3600),
                endpoint_id=endpoint.id,
                next_reminder_at=until.isoformat(),
            )
        self._on_outbox()
        updated = self.store.endpoint(endpoint.id)
        assert updated is not None
        return updated
