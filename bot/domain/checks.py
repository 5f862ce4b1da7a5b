"""The one way a launch is checked: the draft's shape, the policy's limits, the hardware's fit, and the
person's room under the monthly budgets and running quotas.

Each interaction runs each check once: `/endpoint create` (what was typed, then the hardware), the form's
submission (`verdict`), an approval (`room`), and a start or scale-up of a running endpoint (`room`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.catalog import MAX_MODEL_ID
from bot.domain.cost.estimate import dollars_per_hour
from bot.domain.draft import check_shape
from bot.domain.errors import UnknownModel
from bot.domain.hardware import HardwareLookup
from bot.domain.model import LaunchDraft
from bot.domain.policy.budget import BudgetCheck, BudgetUse
from bot.domain.policy.quota import QuotaCheck
from bot.domain.policy.tiers import LaunchPolicy, Tier
from bot.domain.provider import HardwareOption


@dataclass(frozen=True)
class Verdict:
    """A draft that passed every check: the hardware it runs on and the cost tier it is asked in."""

    option: HardwareOption
    tier: Tier
    dollars_at_max: float  # $/h at max replicas
    budgets: list[BudgetUse]


class LaunchChecks:
    def __init__(
        self, policy: LaunchPolicy, hardware: HardwareLookup, budget: BudgetCheck, quota: QuotaCheck
    ) -> None:
        self.policy = policy
        self.hardware = hardware
        self.budget = budget
        self.quota = quota

    def room(
        self, user_id: str, *, approving: bool = False, doing: str | None = None, adds_running: bool = True
    ) -> list[BudgetUse]:
        """Whether `user_id` (whose endpoint it is) may spend more: the monthly budgets and, for what adds a
        running endpoint (`adds_running`), the running quotas. Returns the budgets' use; raises BudgetSpent
        or TooManyRunning. `doing` names what is refused (default: a new launch, or its approval)."""
        uses = self.budget.ensure_room(user_id, approving=approving, doing=doing)
        if adds_running:
            self.quota.ensure_room(
                user_id,
                doing=doing
                or ("This launch can't be approved" if approving else "A new launch can't be asked for"),
            )
        return uses

    def typed(self, model: str | None, max_replicas: int | None) -> None:
        """What `/endpoint create` can check of what was typed without Together: the model id's length
        and the policy's limits on the model and the replica count."""
        if model is not None and len(model) > MAX_MODEL_ID:
            raise UnknownModel(
                f"`{model[:60]}…` is {len(model)} characters long; a Together model id has at most "
                f"{MAX_MODEL_ID}. Check it, or use an alias (`/endpoint help` lists them).",
                field="model",
            )
        self.policy.check(model=model, max_replicas=max_replicas)

    def typed_hardware(
        self, model: str | None, hardware: str | None, max_replicas: int | None
    ) -> list[HardwareOption] | None:
        """The part that may ask Together: the hardware that fits the model (None: no model), and that the
        hardware typed is among it and within the policy."""
        if model is None:
            return None
        options = self.hardware.hardware_for(model)
        if hardware:
            option = self.hardware.check_fit(model, hardware)
            self.policy.check(
                hardware=hardware, max_replicas=max_replicas, cents_per_minute=option.cents_per_minute
            )
        return options

    def draft(self, draft: LaunchDraft) -> HardwareOption:
        """A complete draft against its limits, the catalogue and the policy; a UserError names the field
        at fault."""
        check_shape(draft)
        self.policy.check(model=draft.model)
        option = self.hardware.check_fit(draft.model, draft.hardware)
        self.policy.check(
            hardware=draft.hardware,
            max_replicas=draft.max_replicas,
            cents_per_minute=option.cents_per_minute,
        )
        return option

    def verdict(self, draft: LaunchDraft, user_id: str) -> Verdict:
        """Every check of a submitted launch, once: the draft, then the person's room; and its tier."""
        option = self.draft(draft)
        uses = self.room(user_id)
        at_max = dollars_per_hour(option.cents_per_minute, draft.max_replicas)
        tier = self.policy.tier_for(at_max) or self.policy.tiers[-1]  # draft() refused any cost above all
        return Verdict(option, tier, at_max, uses)
