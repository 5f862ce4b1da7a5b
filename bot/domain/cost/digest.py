"""The weekly spend digest: when it is due, and what it says.

Due every Monday at 09:00 in the bot's time zone, for the seven days before then. Whichever process sees
it due first claims that week in the database (bot/store/digests.py) and posts it; a process that starts
after the hour, with the week unposted, posts it then. Plain Python: no Slack here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from bot.domain.cost.meter import serving_since, total
from bot.domain.cost.spend_views import Group, SpendView, SpendViews, Window
from bot.domain.policy.budget import BudgetUse, month_start


class DigestClaims(Protocol):
    """Which process posts a week's digest: claimed once in the database (the store implements this)."""

    def claim_digest(self, week: str, channel: str, worker: str, now: datetime, lease: timedelta) -> bool: ...

    def mark_digest_posted(self, week: str, worker: str, now: datetime) -> bool: ...

    def release_digest(self, week: str, worker: str, now: datetime, retry_in: timedelta) -> None: ...


DIGEST_HOUR = 9  # Monday 09:00, local
WEEK = timedelta(days=7)
LONG_RUN = timedelta(days=3)
TOP = 5


def due_at(now: datetime, tz: tzinfo) -> datetime:
    """The latest Monday 09:00 in `tz` at or before `now`, in UTC."""
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    due = datetime(monday.year, monday.month, monday.day, DIGEST_HOUR, tzinfo=tz)
    if due > now:
        monday -= WEEK
        due = datetime(monday.year, monday.month, monday.day, DIGEST_HOUR, tzinfo=tz)
    return due.astimezone(UTC)


def week_of(due: datetime, tz: tzinfo) -> str:
    """The claim's key: the Monday the digest is due, as a local date."""
    return due.astimezone(tz).date().isoformat()


@dataclass(frozen=True)
class LongRunner:
    endpoint_id: str
    name: str
    requested_by: str
    since: datetime


@dataclass(frozen=True)
class Digest:
    week: SpendView  # the seven days, by person
    previous: tuple[int, int]  # the seven days before, in cents (low, high)
    people: list[Group]
    models: list[Group]
    long_running: list[LongRunner]
    budgets: list[BudgetUse]  # this month so far: the total, and each person's who spent

    @property
    def change(self) -> int:
        """Cents surely spent this week less the week before (the low ends, as budgets count)."""
        return self.week.cents[0] - self.previous[0]


def build_digest(views: SpendViews, until: datetime) -> Digest:
    """The digest of the seven days up to `until`."""
    since = until - WEEK
    label = f"{since.astimezone(views.tz):%a %d %b} – {until.astimezone(views.tz):%a %d %b %Y}"
    week = views.view(Window(since, until, label), "person")
    before = views.view(Window(since - WEEK, since, "the week before"), "person")
    by_model = views.view(week.window, "model")
    return Digest(
        week=week,
        previous=before.cents,
        people=week.groups()[:TOP],
        models=by_model.groups()[:TOP],
        long_running=long_runners(views, until),
        budgets=budget_uses(views, until),
    )


def long_runners(views: SpendViews, now: datetime) -> list[LongRunner]:
    """Endpoints serving without a break for more than three days, longest first."""
    store = views.costs.store
    launched = [r for r in store.requests() if r.endpoint is not None and r.endpoint.deleted_at is None]
    history = store.observations(r.endpoint.id for r in launched if r.endpoint is not None)
    found = []
    for r in launched:
        assert r.endpoint is not None
        since = serving_since([o for o in history[r.endpoint.id] if o.at <= now])
        if since is not None and now - since > LONG_RUN:
            found.append(LongRunner(r.endpoint.id, views.name_of(r), r.requested_by, since))
    return sorted(found, key=lambda x: (x.since, x.endpoint_id))


def budget_uses(views: SpendViews, now: datetime) -> list[BudgetUse]:
    """Each budget's use this calendar month (UTC, as budgets count): the total, then each person's."""
    budgets = views.budgets
    if not budgets.any:
        return []
    launched = [r for r in views.costs.store.requests() if r.endpoint is not None]
    meters = views.costs.of_many(launched, since=month_start(now), at=now)
    uses = []
    if budgets.total_monthly is not None:
        uses.append(BudgetUse(None, budgets.total_monthly, total(meters.values())))
    if budgets.per_person_monthly is not None:
        people = sorted({r.requested_by for r in launched})
        mine = {p: total(meters[r.id] for r in launched if r.requested_by == p) for p in people}
        spent = [BudgetUse(p, budgets.per_person_monthly, m) for p, m in mine.items() if m.high > 0]
        uses += sorted(spent, key=lambda u: (-u.spent.low, -u.spent.high, u.user_id or ""))
    return uses
