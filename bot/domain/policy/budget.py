"""Monthly budgets from the policy file: what launches have cost this calendar month, against the budget.

A budget is spent when what the meter can prove was spent (the low end of its range, see meter.py)
reaches it: a person over their budget, or everyone over the total, cannot ask for or be granted a new
launch, start a stopped endpoint or scale one up until the month turns. Endpoints already running are
left alone (stopping, scaling down and deleting are always allowed); the reply says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.cost.estimate import format_dollars
from bot.domain.cost.meter import Meter, total
from bot.domain.cost.spend import Costs
from bot.domain.errors import UserError
from bot.domain.policy.tiers import Budgets
from bot.domain.text import mention
from bot.store import Store


class BudgetSpent(UserError):
    """A monthly budget is used up: no new launch for that person (or anyone) this month."""


def month_start(now: datetime) -> datetime:
    """The first instant of `now`'s calendar month, in UTC."""
    now = now.astimezone(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class BudgetUse:
    """One budget and what this month's launches have cost against it."""

    user_id: str | None  # whose budget; None: the total for everyone
    budget: float  # dollars per calendar month
    spent: Meter  # this month so far

    @property
    def used_up(self) -> bool:
        return self.spent.low >= self.budget

    def describe(self) -> str:
        whose = f"{mention(self.user_id)}'s" if self.user_id else "Everyone's"
        spent = self.spent.cost_text().removeprefix("≈ ")
        return f"{whose} launches cost {spent} of the {format_dollars(self.budget)} monthly budget so far"


class BudgetCheck:
    def __init__(self, budgets: Budgets, store: Store, costs: Costs) -> None:
        self.budgets = budgets
        self.store = store
        self.costs = costs

    def uses(self, user_id: str) -> list[BudgetUse]:
        """The budgets that apply to a launch asked for by `user_id`, with this month's spending."""
        if not self.budgets.any:
            return []
        now = self.costs.now()
        launched = [r for r in self.store.requests() if r.endpoint is not None]
        meters = self.costs.of_many(launched, since=month_start(now), at=now)
        found = []
        if self.budgets.per_person_monthly is not None:
            mine = total(meters[r.id] for r in launched if r.requested_by == user_id and r.id in meters)
            found.append(BudgetUse(user_id, self.budgets.per_person_monthly, mine))
        if self.budgets.total_monthly is not None:
            found.append(BudgetUse(None, self.budgets.total_monthly, total(meters.values())))
        return found

    def ensure_room(
        self, user_id: str, *, approving: bool = False, doing: str | None = None
    ) -> list[BudgetUse]:
        """The budgets' use for `user_id`'s next launch (or, with `doing`, a start or scale-up of one of
        their endpoints, which spends like a launch); raises BudgetSpent when one is used up."""
        uses = self.uses(user_id)
        spent = [u for u in uses if u.used_up]
        if spent:
            what = "; ".join(u.describe() for u in spent)
            action = doing or (
                "This launch can't be approved" if approving else "A new launch can't be asked for"
            )
            raise BudgetSpent(
                f"{what}. {action} until the month turns (UTC). Endpoints already running keep running; "
                "stopping some does not give the money back, but stops the spending. Whoever keeps the "
                "policy file can raise the budget in its [budgets] table."
            )
        return uses
