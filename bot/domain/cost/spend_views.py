"""Spend broken down: by person, channel, model, hardware or endpoint, day by day, over a window.

The same arithmetic as the meter (meter.py `measure`, ranges where the replica count is unknown), cut at
the window's edges and at each midnight in the bot's time zone. One row per endpoint per day is the unit:
the CSV lists those rows, the chart stacks them, and every total shown is the sum of the rows in cents,
so a spreadsheet adding up the CSV finds the same figure as the Slack answer.
Plain Python: the store supplies the history, the caller the clock and the time zone.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from bot.domain.command import BREAKDOWNS
from bot.domain.command import WINDOWS as ROLLING
from bot.domain.cost.meter import Meter, measure, money_range
from bot.domain.cost.spend import Costs, bounds_of
from bot.domain.errors import UsageError
from bot.domain.model import LaunchRequest
from bot.domain.policy.budget import BudgetUse, month_start
from bot.domain.policy.tiers import Budgets

# measure() in these "cents per minute" gives replica-seconds: minutes × 6000 / 100 = seconds.
_REPLICA_SECONDS = 6000.0
TOP = 8  # series drawn apart on the chart; the rest is "others"


@dataclass(frozen=True)
class Window:
    """[since, until) in UTC, with how to say it; `month` is set for a calendar month (the current one's
    budgets are drawn on the chart)."""

    since: datetime
    until: datetime
    label: str  # "the last 7 days", "November 2026 so far", ...
    month: tuple[int, int] | None = None
    current_month: bool = False


def rolling_window(span: timedelta, now: datetime, label: str) -> Window:
    return Window(now - span, now, label)


def month_window(year: int, month: int, now: datetime, tz: tzinfo) -> Window:
    """A calendar month in `tz`, up to now when it is the current one. A month to come is refused."""
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    name = f"{calendar.month_name[month]} {year}"
    if start > now:
        raise UsageError(f"{name} has not begun yet: give this month or one before it.")
    if end > now:
        return Window(start.astimezone(UTC), now, f"{name} so far", (year, month), current_month=True)
    return Window(start.astimezone(UTC), end.astimezone(UTC), name, (year, month))


def window_for(word: str, now: datetime, tz: tzinfo) -> Window:
    """`24h`, `7d`, `30d`, `month` (this calendar month so far) or `last-month`, in the time zone `tz`."""
    if word in ROLLING:
        span = ROLLING[word]
        label = "the last 24 hours" if word == "24h" else f"the last {span.days} days"
        return rolling_window(span, now, label)
    local = now.astimezone(tz)
    if word == "month":
        return month_window(local.year, local.month, now, tz)
    if word == "last-month":
        year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
        return month_window(year, month, now, tz)
    raise UsageError(f"`{word}`: say 24h, 7d, 30d, month or last-month.")


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str, now: datetime, tz: tzinfo) -> Window:
    """`2026-11` -> that month in `tz`."""
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise UsageError(f"`{text}` is not a month: write it as YYYY-MM, e.g. 2026-11.")
    return month_window(int(m.group(1)), int(m.group(2)), now, tz)


def days_of(window: Window, tz: tzinfo) -> list[tuple[date, datetime, datetime]]:
    """The window cut at each local midnight: (local day, start, end) in UTC, first day first."""
    out = []
    day = window.since.astimezone(tz).date()
    while True:
        start = datetime(day.year, day.month, day.day, tzinfo=tz)
        following = day + timedelta(days=1)
        end = datetime(following.year, following.month, following.day, tzinfo=tz)
        lo, hi = max(start.astimezone(UTC), window.since), min(end.astimezone(UTC), window.until)
        if lo >= window.until:
            break
        if hi > lo:
            out.append((day, lo, hi))
        day = following
    return out


@dataclass(frozen=True)
class DayRow:
    """What one endpoint cost on one local day (the CSV's row). Dollars are rounded to the cent."""

    day: date
    request_id: int
    endpoint_id: str
    name: str
    requested_by: str
    channel_id: str
    model: str
    hardware: str
    serving_seconds: int
    replica_seconds: tuple[int, int]  # low, high
    cents: tuple[int, int]  # low, high

    def key(self, by: str) -> str:
        return {
            "person": self.requested_by,
            "channel": self.channel_id,
            "model": self.model,
            "hardware": self.hardware,
            "endpoint": self.endpoint_id,
        }[by]


@dataclass(frozen=True)
class Group:
    """One value of the breakdown (a person, a channel, ...) and its sums over the window."""

    key: str
    cents: tuple[int, int]
    serving_seconds: int
    endpoints: int

    @property
    def cost_text(self) -> str:
        return money_range(self.cents[0] / 100, self.cents[1] / 100)


@dataclass(frozen=True)
class SpendView:
    window: Window
    by: str
    days: list[date]
    rows: list[DayRow]  # serving rows only, by day then endpoint
    names: dict[str, str] = field(default_factory=dict)  # endpoint id -> display name
    budgets: list[BudgetUse] = field(default_factory=list)  # for the current month: the budgets in force

    @property
    def cents(self) -> tuple[int, int]:
        return sum(r.cents[0] for r in self.rows), sum(r.cents[1] for r in self.rows)

    @property
    def total_text(self) -> str:
        return money_range(self.cents[0] / 100, self.cents[1] / 100)

    @property
    def serving_seconds(self) -> int:
        return sum(r.serving_seconds for r in self.rows)

    @property
    def exact(self) -> bool:
        return all(r.cents[0] == r.cents[1] for r in self.rows)

    def groups(self) -> list[Group]:
        """The breakdown, most expensive first (then by key, so equal ones keep an order)."""
        sums: dict[str, list[int]] = {}
        endpoints: dict[str, set[str]] = {}
        for r in self.rows:
            s = sums.setdefault(r.key(self.by), [0, 0, 0])
            s[0] += r.cents[0]
            s[1] += r.cents[1]
            s[2] += r.serving_seconds
            endpoints.setdefault(r.key(self.by), set()).add(r.endpoint_id)
        found = [Group(k, (s[0], s[1]), s[2], len(endpoints[k])) for k, s in sums.items()]
        return sorted(found, key=lambda g: (-g.cents[1], -g.cents[0], g.key))

    def series(self, top: int = TOP) -> tuple[list[str], dict[str, list[tuple[int, int]]]]:
        """Keys of the chart's series (the `top` most expensive, then "others" when there are more) and
        for each, (low, high) cents per day of `days`."""
        ranked = [g.key for g in self.groups()]
        shown = ranked if len(ranked) <= top else ranked[:top]
        kept = set(shown)
        keys = shown + (["others"] if len(ranked) > len(shown) else [])
        index = {d: i for i, d in enumerate(self.days)}
        values = {k: [(0, 0)] * len(self.days) for k in keys}
        for r in self.rows:
            k = r.key(self.by)
            k = k if k in kept else "others"
            i = index[r.day]
            low, high = values[k][i]
            values[k][i] = (low + r.cents[0], high + r.cents[1])
        return keys, values


def _cents(dollars: float) -> int:
    return int(round(dollars * 100))


def spend_view(
    costs: Costs,
    requests: Iterable[LaunchRequest],
    window: Window,
    by: str,
    tz: tzinfo,
    name_of: Callable[[LaunchRequest], str],
    budgets: list[BudgetUse] | None = None,
) -> SpendView:
    """Every launched endpoint's cost per local day within `window` (deleted ones too)."""
    if by not in BREAKDOWNS:
        raise UsageError(f"`by {by}`: say by person, channel, model, hardware or endpoint.")
    launched = [r for r in requests if r.endpoint is not None]
    history = costs.store.observations(r.endpoint.id for r in launched if r.endpoint is not None)
    days = days_of(window, tz)
    rows: list[DayRow] = []
    names: dict[str, str] = {}
    for day, start, end in days:
        for r in launched:
            assert r.endpoint is not None
            obs = history[r.endpoint.id]
            if not obs or min(o.at for o in obs) >= end:
                continue
            bounds = bounds_of(r)
            money = measure(obs, r.cents_per_minute, bounds=bounds, now=end, since=start)
            if money.serving <= timedelta(0):
                continue
            replicas = measure(obs, _REPLICA_SECONDS, bounds=bounds, now=end, since=start)
            name = name_of(r)
            names[r.endpoint.id] = name
            rows.append(
                DayRow(
                    day=day,
                    request_id=r.id,
                    endpoint_id=r.endpoint.id,
                    name=name,
                    requested_by=r.requested_by,
                    channel_id=r.channel_id,
                    model=r.endpoint.model or r.draft.model,
                    hardware=r.endpoint.hardware or r.draft.hardware,
                    serving_seconds=int(round(money.serving.total_seconds())),
                    replica_seconds=(int(round(replicas.low)), int(round(replicas.high))),
                    cents=(_cents(money.low), _cents(money.high)),
                )
            )
    return SpendView(window, by, [d for d, _, _ in days], rows, names, list(budgets or []))


def budget_lines(budgets: Budgets) -> list[BudgetUse]:
    """The budgets in force, to draw as lines (what was spent is on the chart already)."""
    lines = []
    if budgets.total_monthly is not None:
        lines.append(BudgetUse(None, budgets.total_monthly, Meter()))
    if budgets.per_person_monthly is not None:
        lines.append(BudgetUse("each", budgets.per_person_monthly, Meter()))
    return lines


class SpendViews:
    """Spend views over the bot's launches; `costs.now` is the clock, `tz` where days begin."""

    def __init__(
        self, costs: Costs, name_of: Callable[[LaunchRequest], str], budgets: Budgets, tz: tzinfo
    ) -> None:
        self.costs = costs
        self.name_of = name_of
        self.budgets = budgets
        self.tz = tz

    def now(self) -> datetime:
        return self.costs.now()

    def window(self, word: str) -> Window:
        return window_for(word, self.now(), self.tz)

    def view(self, window: Window, by: str) -> SpendView:
        lines = budget_lines(self.budgets) if window.current_month else []
        return spend_view(self.costs, self.costs.store.requests(), window, by, self.tz, self.name_of, lines)

    def label(self, view: SpendView, key: str) -> str:
        """A series key as a person reads it, where the domain knows better than the id."""
        return view.names.get(key, key) if view.by == "endpoint" else key


@dataclass(frozen=True)
class MonthSpend:
    """This calendar month (UTC, as budgets count) for the App Home: the viewer's launches and everyone's,
    against the budgets; for admins, the three who spent most."""

    mine: Meter
    everyone: Meter
    my_budget: float | None
    total_budget: float | None
    top: list[tuple[str, Meter]] | None = None  # None: not shown (the viewer is not an admin)


def month_spend(
    costs: Costs, requests: Iterable[LaunchRequest], user_id: str, budgets: Budgets, *, admin: bool
) -> MonthSpend:
    now = costs.now()
    launched = [r for r in requests if r.endpoint is not None]
    meters = costs.of_many(launched, since=month_start(now), at=now)
    people: dict[str, Meter] = {}
    for r in launched:
        people[r.requested_by] = people.get(r.requested_by, Meter()) + meters[r.id]
    top = None
    if admin:
        spenders = [(u, m) for u, m in people.items() if m.high > 0]
        top = sorted(spenders, key=lambda p: (-p[1].low, -p[1].high, p[0]))[:3]
    everyone = Meter()
    for m in meters.values():
        everyone = everyone + m
    return MonthSpend(
        people.get(user_id, Meter()), everyone, budgets.per_person_monthly, budgets.total_monthly, top
    )
