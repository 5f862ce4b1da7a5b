"""LaunchService: one front over the launch's parts, for the Slack layer, the shell and the wiring.

The parts each do one thing: `checks` (checks.py, with `hardware`: hardware.py), `requests` (asking and
deciding: requests.py), `launcher` (creating at Together once: launcher.py) and `tracker` (following
states: tracker.py). They share one clock, so a test that moves `now` moves it for all of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.domain.catalog import Catalog
from bot.domain.changes import ChangeHooks
from bot.domain.checks import LaunchChecks
from bot.domain.clock import Clock, utcnow
from bot.domain.cost.spend import Costs
from bot.domain.hardware import HardwareLookup
from bot.domain.launcher import LAUNCH_LEASE, Launcher
from bot.domain.model import LaunchDraft, LaunchRequest
from bot.domain.names import display_name
from bot.domain.policy.budget import BudgetCheck, BudgetUse
from bot.domain.policy.quota import QuotaCheck
from bot.domain.policy.tiers import LaunchPolicy
from bot.domain.provider import EndpointProvider, HardwareOption
from bot.domain.requests import LaunchRequests
from bot.domain.tracker import UNREACHABLE_REPORT_AFTER, Tracker
from bot.store import Store


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
        self.clock = Clock(now=now, sleep=sleep, monotonic=monotonic)
        self.costs = Costs(store, lambda: self.clock.now())
        self.budget = BudgetCheck(policy.budgets, store, self.costs)
        self.quota = QuotaCheck(policy.limits, store, lambda r: display_name(r, catalog))
        self.hardware = HardwareLookup(provider, catalog, self.clock)
        self.checks = LaunchChecks(policy, self.hardware, self.budget, self.quota)
        self.requests = LaunchRequests(
            store, catalog, self.checks, self.clock, on_outbox=on_outbox, on_approved=on_approved
        )
        self.launcher = Launcher(
            store,
            provider,
            catalog,
            self.clock,
            on_outbox=on_outbox,
            on_launched=on_launched,
            launch_lease=launch_lease,
        )
        self.tracker = Tracker(
            store,
            provider,
            catalog,
            self.clock,
            self.costs,
            on_outbox=on_outbox,
            on_came_up=on_came_up,
            smoke_tests=smoke_tests,
            unreachable_report_after=unreachable_report_after,
        )

    def attach_changes(self, changes: ChangeHooks) -> None:
        """Change requests are decided like launches and applied by the launcher (see changes.py)."""
        self.requests.changes = changes
        self.launcher.changes = changes

    # --- the shared clock and settings (tests move them) ---------------------------------

    @property
    def now(self) -> Callable[[], datetime]:
        return self.clock.now

    @now.setter
    def now(self, now: Callable[[], datetime]) -> None:
        self.clock.now = now

    @property
    def sleep(self) -> Callable[[float], None]:
        return self.clock.sleep

    @sleep.setter
    def sleep(self, sleep: Callable[[float], None]) -> None:
        self.clock.sleep = sleep

    @property
    def _monotonic(self) -> Callable[[], float]:
        return self.clock.monotonic

    @_monotonic.setter
    def _monotonic(self, monotonic: Callable[[], float]) -> None:
        self.clock.monotonic = monotonic

    @property
    def launch_lease(self) -> timedelta:
        return self.launcher.launch_lease

    @launch_lease.setter
    def launch_lease(self, lease: timedelta) -> None:
        self.launcher.launch_lease = lease

    @property
    def unreachable_report_after(self) -> float:
        return self.tracker.unreachable_report_after

    @unreachable_report_after.setter
    def unreachable_report_after(self, seconds: float) -> None:
        self.tracker.unreachable_report_after = seconds

    # --- hardware and checks --------------------------------------------------------------

    def hardware_for(self, model: str) -> list[HardwareOption]:
        return self.hardware.hardware_for(model)

    def warm_hardware_cache(self) -> int:
        return self.hardware.warm()

    def cached_hardware(self, model: str) -> list[HardwareOption] | None:
        return self.hardware.cached(model)

    def precheck_person(
        self, model: str | None, max_replicas: int | None, user_id: str | None = None
    ) -> None:
        """The part of `precheck` that needs no Together: the policy's limits on what was typed, and the
        person's budgets and quotas."""
        self.checks.typed(model, max_replicas)
        if user_id is not None:
            self.checks.room(user_id)

    def precheck_hardware(
        self, model: str | None, hardware: str | None, max_replicas: int | None
    ) -> list[HardwareOption] | None:
        """The part of `precheck` that may ask Together (see LaunchChecks.typed_hardware)."""
        return self.checks.typed_hardware(model, hardware, max_replicas)

    # --- requests -------------------------------------------------------------------------

    def submit(self, *, team_id: str, channel_id: str, user_id: str, draft: LaunchDraft) -> LaunchRequest:
        return self.requests.submit(team_id=team_id, channel_id=channel_id, user_id=user_id, draft=draft)

    def decision_context(
        self, request_id: int, user_id: str, *, approving: bool = True
    ) -> tuple[LaunchRequest, list[BudgetUse]]:
        return self.requests.decision_context(request_id, user_id, approving=approving)

    def approve(self, request_id: int, user_id: str, note: str | None = None) -> LaunchRequest:
        return self.requests.approve(request_id, user_id, note)

    def reject(self, request_id: int, user_id: str, reason: str) -> LaunchRequest:
        return self.requests.reject(request_id, user_id, reason)

    def withdraw(self, request_id: int, user_id: str) -> LaunchRequest:
        return self.requests.withdraw(request_id, user_id)

    def expire_due(self) -> int:
        return self.requests.expire_due()

    # --- launching ------------------------------------------------------------------------

    def launch_approved(self) -> int:
        return self.launcher.launch_approved()

    def launch(self, request_id: int) -> bool:
        return self.launcher.launch(request_id)

    def recover_launches(self) -> int:
        return self.launcher.recover_launches()

    # --- following state ------------------------------------------------------------------

    def track_once(self) -> int:
        return self.tracker.track_once()

    def busy(self) -> bool:
        return self.tracker.busy()
