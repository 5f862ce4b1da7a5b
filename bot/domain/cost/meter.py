"""The running-cost meter: what an endpoint has cost, from the states the bot saw it in.

Together bills per minute per running replica, from when the endpoint is up and running; nothing while it
comes up, fails or is stopped. So only time in a serving state counts, times the replicas serving then:
the ready count where the API reports one (v2), otherwise somewhere between the replica bounds in force
(v1 does not say how many of min..max run). The meter then gives a range, never a made-up number.
Plain Python: the store supplies the observations, the caller the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.cost.estimate import dollars_per_hour, format_dollars
from bot.domain.model import Observation
from bot.domain.states import SERVING, UNSEEN


@dataclass(frozen=True)
class Meter:
    """Time serving and its cost in dollars, as a range (low == high where the data decides it)."""

    serving: timedelta = timedelta(0)
    low: float = 0.0
    high: float = 0.0
    # $/hour now: None when it is not serving (or the meter is of a closed window)
    hourly_now: tuple[float, float] | None = None
    # Time between last seen serving and found gone: in `high`, not in `low` (not known to have run)
    unseen: timedelta = timedelta(0)

    @property
    def exact(self) -> bool:
        return round(self.low, 2) == round(self.high, 2)

    def __add__(self, other: Meter) -> Meter:
        return Meter(
            self.serving + other.serving,
            self.low + other.low,
            self.high + other.high,
            unseen=self.unseen + other.unseen,
        )

    def cost_text(self) -> str:
        """`≈ $41.20`, or `$36.00–$90.00` where the replica count is not known."""
        return money_range(self.low, self.high)

    def hourly_text(self) -> str | None:
        if self.hourly_now is None:
            return None
        low, high = self.hourly_now
        return money_range(low, high, approx=False) + "/h"


def money_range(low: float, high: float, *, approx: bool = True) -> str:
    if round(low, 2) == round(high, 2):
        return ("≈ " if approx else "") + format_dollars(low)
    return f"{format_dollars(low)}–{format_dollars(high)}"


def duration_text(span: timedelta) -> str:
    """`3 h 12 min`, `45 min`, `2 d 4 h`, `under a minute`; whole minutes, rounded down."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def replicas_then(obs: Observation, bounds: tuple[int, int]) -> tuple[int, int]:
    """How many replicas ran (billed) while in `obs`: the ready count, else the bounds in force."""
    if obs.state == UNSEEN:  # perhaps none, perhaps as many as when last seen
        return 0, obs.max_replicas if obs.max_replicas is not None else bounds[1]
    if obs.state not in SERVING:
        return 0, 0
    if obs.ready_replicas is not None:
        return obs.ready_replicas, obs.ready_replicas
    low = obs.min_replicas if obs.min_replicas is not None else bounds[0]
    high = obs.max_replicas if obs.max_replicas is not None else bounds[1]
    return low, max(low, high)


def measure(
    history: Sequence[Observation],
    cents_per_minute: float,
    *,
    bounds: tuple[int, int],
    now: datetime,
    since: datetime | None = None,
) -> Meter:
    """The meter of one endpoint over its history (oldest first) up to `now`, or over [since, now].

    Each observation holds until the next one; the last until `now`. `bounds` stands in for replica
    bounds an observation did not record. `cents_per_minute` is the price of one replica.
    """
    serving = timedelta(0)
    unseen = timedelta(0)
    low = high = 0.0
    ordered = sorted(history, key=lambda o: o.at)
    for obs, ends in zip(ordered, [o.at for o in ordered[1:]] + [now], strict=True):
        start = max(obs.at, since) if since is not None else obs.at
        end = min(ends, now)
        few, many = replicas_then(obs, bounds)
        if end <= start or many == 0:
            continue  # not serving (or, as v2 reports it, serving with no replica ready yet)
        span = end - start
        minutes = span.total_seconds() / 60
        if obs.state == UNSEEN:
            unseen += span
        else:
            serving += span
        low += minutes * cents_per_minute * few / 100
        high += minutes * cents_per_minute * many / 100
    hourly_now = None
    if ordered and ordered[-1].state in SERVING and ordered[-1].at <= now:
        few, many = replicas_then(ordered[-1], bounds)
        hourly_now = (dollars_per_hour(cents_per_minute, few), dollars_per_hour(cents_per_minute, many))
    return Meter(serving, low, high, hourly_now, unseen)


def serves(obs: Observation) -> bool:
    """In a serving state with a replica that may be serving (v2 reports SCALING with none ready on the
    way up: not yet)."""
    return obs.state in SERVING and obs.ready_replicas != 0


def serving_since(history: Sequence[Observation]) -> datetime | None:
    """When the current uninterrupted run of serving began (None: not serving now)."""
    start = None
    for obs in sorted(history, key=lambda o: o.at):
        start = (start or obs.at) if serves(obs) else None
    return start


def total(meters: Iterable[Meter]) -> Meter:
    result = Meter()
    for m in meters:
        result = result + m
    return result


def hourly_cost(
    state: str, last: Observation | None, cents_per_minute: float, bounds: tuple[int, int]
) -> tuple[float, float]:
    """What an endpoint in `state` costs per hour now, in dollars (low, high); 0 when not serving."""
    if state not in SERVING:
        return 0.0, 0.0
    few, many = replicas_then(
        last if last is not None and last.state == state else Observation(state, _EPOCH), bounds
    )
    return cents_per_minute * 60 * few / 100, cents_per_minute * 60 * many / 100


_EPOCH = datetime(1970, 1, 1)
