"""What endpoints have cost: the meter (meter.py) over the state history the store keeps."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.cost.meter import Meter, measure, total
from bot.domain.model import LaunchRequest
from bot.store import Store


def bounds_of(request: LaunchRequest) -> tuple[int, int]:
    """The replica bounds in force now: as changed since launch, else as asked."""
    e, d = request.endpoint, request.draft
    low = e.min_replicas if e is not None and e.min_replicas is not None else d.min_replicas
    high = e.max_replicas if e is not None and e.max_replicas is not None else d.max_replicas
    return low, high


class Costs:
    """Reads the meters of launched endpoints; `now` is the domain's clock."""

    def __init__(self, store: Store, now: Callable[[], datetime]) -> None:
        self.store = store
        self.now = now

    def of(self, request: LaunchRequest, *, at: datetime | None = None) -> Meter | None:
        """The meter of the request's endpoint since launch (None: nothing was launched)."""
        return self.of_many([request], at=at).get(request.id)

    def of_many(
        self, requests: Iterable[LaunchRequest], *, since: datetime | None = None, at: datetime | None = None
    ) -> dict[int, Meter]:
        """Meters by request id, over [since, at] (default: the whole life up to now). One query."""
        launched = [r for r in requests if r.endpoint is not None]
        history = self.store.observations(r.endpoint.id for r in launched if r.endpoint is not None)
        now = at or self.now()
        meters = {}
        for r in launched:
            assert r.endpoint is not None
            meters[r.id] = measure(
                history[r.endpoint.id], r.cents_per_minute, bounds=bounds_of(r), now=now, since=since
            )
        return meters


@dataclass(frozen=True)
class SpendLine:
    """One endpoint's time serving and cost within the window."""

    request_id: int
    endpoint_id: str
    name: str
    requested_by: str
    meter: Meter


@dataclass(frozen=True)
class SpendReport:
    since: datetime
    until: datetime
    lines: list[SpendLine]  # endpoints that served in the window, most expensive first

    @property
    def total(self) -> Meter:
        return total(line.meter for line in self.lines)

    @property
    def by_person(self) -> list[tuple[str, Meter, int]]:
        """(requester, their endpoints' meter, how many endpoints), most expensive first."""
        people: dict[str, list[Meter]] = {}
        for line in self.lines:
            people.setdefault(line.requested_by, []).append(line.meter)
        rows = [(user, total(meters), len(meters)) for user, meters in people.items()]
        return sorted(rows, key=lambda r: (-r[1].high, -r[1].low, r[0]))

    @property
    def exact(self) -> bool:
        return all(line.meter.exact for line in self.lines)


def spend_report(
    costs: Costs,
    requests: Iterable[LaunchRequest],
    window: timedelta,
    name_of: Callable[[LaunchRequest], str],
) -> SpendReport:
    """What each launched endpoint cost within the last `window`, intervals clipped to it."""
    until = costs.now()
    since = until - window
    launched = [r for r in requests if r.endpoint is not None]
    meters = costs.of_many(launched, since=since, at=until)
    lines = [
        SpendLine(r.id, r.endpoint.id, name_of(r), r.requested_by, meters[r.id])
        for r in launched
        if r.endpoint is not None and meters[r.id].serving > timedelta(0)
    ]
    lines.sort(key=lambda line: (-line.meter.high, -line.meter.low, line.request_id))
    return SpendReport(since, until, lines)
