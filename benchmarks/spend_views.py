"""How long a spend view takes: the breakdown over 30 days, its CSV and its chart, for N endpoints.

    python -m benchmarks.spend_views [--sizes 10,50,200] [--iterations 3]

Each endpoint serves in 12-hour runs every other day over the 30 days (about 15 runs, 30 state rows),
half with a replica range (the uncertain part of the chart). Prints the median of each stage in ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from bot.domain.cost.spend import Costs
from bot.domain.cost.spend_views import SpendViews
from bot.domain.model import LaunchDraft
from bot.domain.policy.tiers import Budgets
from bot.slack.views.spend_files import spend_chart, spend_csv
from bot.store import Seen, Store
from bot.store.db import make_engine, migrate

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
T = TypeVar("T")


def seed(store: Store, count: int) -> None:
    start = NOW - timedelta(days=30)
    for n in range(count):
        low, high = (1, 1) if n % 2 else (1, 4)
        with store.transaction() as tx:
            request_id = tx.insert_request(
                team_id="T1",
                channel_id=f"C{n % 5}",
                requested_by=f"U{n % 12}",
                draft=LaunchDraft(f"model-{n % 7}", f"hw-{n % 3}", low, high),
                cents_per_minute=9.0,
                requested_at=start,
            )
            endpoint_id = f"ep-{n}"
            tx.insert_endpoint(
                endpoint_id=endpoint_id,
                request_id=request_id,
                team_id="T1",
                name=endpoint_id,
                model=f"model-{n % 7}",
                hardware=f"hw-{n % 3}",
                state="STOPPED",
                seen=Seen(at=start, min_replicas=low, max_replicas=high),
            )
            for day in range(0, 30, 2):
                up = start + timedelta(days=day, hours=n % 24)
                tx.move_endpoint_state(endpoint_id, "STOPPED", "STARTED", Seen(at=up))
                tx.move_endpoint_state(endpoint_id, "STARTED", "STOPPED", Seen(at=up + timedelta(hours=12)))


def timed(work: Callable[[], T], iterations: int) -> tuple[float, T]:
    times = []
    result = work()  # the first run (imports, caches) is not counted
    for _ in range(iterations):
        started = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def measure(size: int, iterations: int) -> str:
    """One line of the table: `size` endpoints over 30 days, each stage's median."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")  # a scratch database
        migrate(engine)
        store = Store(engine)
        seed(store, size)
        views = SpendViews(Costs(store, lambda: NOW), lambda r: f"#{r.id}", Budgets(), UTC)
        window = views.window("30d")
        view_ms, view = timed(lambda: views.view(window, "person"), iterations)
        csv_ms, _ = timed(lambda: spend_csv(view), iterations)
        chart_ms, png = timed(lambda: spend_chart(view), iterations)
        engine.dispose()
    return (
        f"{size:>9}  {len(view.rows):>4}  {view_ms:>7.0f}  {csv_ms:>6.1f}  {chart_ms:>8.0f}  {len(png):>9,}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.spend_views", description=__doc__)
    parser.add_argument("--sizes", default="10,50,200", help="endpoint counts (default 10,50,200)")
    parser.add_argument("--iterations", type=int, default=3, help="runs per stage (default 3)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print("endpoints  rows  view ms  csv ms  chart ms  PNG bytes", flush=True)
    for size in sizes:
        print(measure(size, args.iterations), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
