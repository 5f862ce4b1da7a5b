"""What endpoints have cost: the meter (meter.py) over the state history the store keeps."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from bot.domain.meter import Meter, measure
from bot.domain.model import LaunchRequest
from bot.store.store import Store


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
