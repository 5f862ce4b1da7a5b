"""What one tracker tick costs as the number of followed endpoints grows.

For each size N the simulator and a fresh database are seeded with N launched endpoints (created on the
simulator through the bot's own Together client, recorded through the store's transaction API, as a
launch records them). Then the tracker's tick is timed as the tracker loop runs it (`bot.runtime`): the
loop's work (`bot.domain.tracker.track`: `Tracker.track_once` and the deletions waiting for a stop; then
the running reminders), then `bot.runtime.poll_interval`, which decides when the next tick comes. Two kinds of tick:

* steady: Together reports what the database already holds, nothing to record;
* all change: every endpoint changed state since the last tick (STOPPED <-> STARTED on v1, STOPPED <->
  READY on v2, set in the simulator as Together's console would), so the tick records N changes.

Per tick: Together HTTP calls (the simulator's request log), SQL statements (SQLAlchemy's
`before_cursor_execute`; BEGIN and COMMIT are not statements there), wall time (median and max of
`--iterations` ticks, and the median time the simulator spent answering within it: it runs in this
process and its cost is not the bot's) and the peak of memory allocated during one more tick
(tracemalloc, which sees every thread, so the simulator's allocations are in it too).

    python -m benchmarks.tracker_cost [--sizes 1,10,100,500] [--backends v1,v2] [--iterations 3]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import event

from benchmarks._common import (
    APPROVER,
    BACKENDS,
    BOT_TOKEN,
    CHANNEL,
    REQUESTER,
    TEAM,
    Simulated,
    database_label,
    format_table,
    make_provider,
    positive_ints,
    quiet_logging,
    scratch_database,
    simulated_bot,
    whole_number,
)
from bot.domain.clock import utcnow
from bot.domain.model import LaunchDraft, RequestStatus
from bot.domain.provider import EndpointInfo, LaunchSpec
from bot.runtime import poll_interval
from bot.sandbox.fake_slack import FakeSlack
from bot.simulator.core import RecordedRequest, TogetherSimulator
from bot.simulator.server import SimulatorTransport

MODEL_ALIAS = "llama-8b"
GPU = "h100"
UP_STATE = {"v1": "STARTED", "v2": "READY"}


@dataclass
class Tick:
    """What one tick did."""

    changes: int
    together: int
    sql: Counter[str]  # statements by their first word
    ms: float
    sim_ms: float  # of which the simulator spent answering (it runs in this process)


@dataclass
class Result:
    backend: str
    size: int
    kind: str
    ticks: list[Tick] = field(default_factory=list)
    peak_kib: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)  # Together calls of the last tick, by method+path

    @property
    def sql_total(self) -> int:
        return max(sum(t.sql.values()) for t in self.ticks)

    def sql(self, verb: str) -> int:
        return max(t.sql[verb] for t in self.ticks)


class SimTimer:
    """Adds up the time the simulator spends answering, whichever thread asks it."""

    def __init__(self, sim: TogetherSimulator) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()
        self._handle = sim.handle
        setattr(sim, "handle", self._timed)  # noqa: B010 - replaces the bound method on this instance only

    def _timed(self, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return self._handle(*args, **kwargs)
        finally:
            with self._lock:
                self.seconds += time.perf_counter() - began

    def take_ms(self) -> float:
        with self._lock:
            seconds, self.seconds = self.seconds, 0.0
        return seconds * 1000


class SqlCounter:
    """Counts the statements an engine sends while `counting` is on."""

    def __init__(self, engine: Any) -> None:
        self.counts: Counter[str] = Counter()
        self.counting = False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if self.counting:
            self.counts[statement.lstrip().split(None, 1)[0].upper()] += 1

    def take(self) -> Counter[str]:
        counts, self.counts = self.counts, Counter()
        return counts


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tracker_cost",
        description="Time and count what one tracker tick costs for N followed endpoints.",
    )
    parser.add_argument(
        "--sizes",
        type=positive_ints,
        default=[1, 10, 100, 500],
        help="numbers of endpoints, comma-separated (default 1,10,100,500)",
    )
    parser.add_argument(
        "--backends",
        default="v1,v2",
        help="Together APIs, comma-separated, of v1 and v2 (default v1,v2)",
    )
    parser.add_argument(
        "--iterations", type=whole_number(1), default=3, help="timed ticks per row (default 3)"
    )
    parser.add_argument(
        "--warmup", type=whole_number(0), default=1, help="untimed ticks of each kind first (default 1)"
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="a PostgreSQL URL: each size gets a scratch schema there, dropped afterwards "
        "(default: SQLite in a temporary folder)",
    )
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or set(backends) - set(BACKENDS):
        parser.error(f"--backends takes v1 and v2 (got {args.backends!r})")
    args.backends = backends
    return args


# --- seeding --------------------------------------------------------------------------------------


def seed(simulated: Simulated, size: int) -> list[EndpointInfo]:
    """`size` stopped endpoints on the simulator and, for each, a launched request and its endpoint in the
    database, in one transaction. Returns what Together answered to each create."""
    bot, sim = simulated.bot, simulated.sim
    model = bot.catalog.resolve_model(MODEL_ALIAS)
    # Creates go straight to the simulator in this process (no sockets): seeding is not what is measured.
    with make_provider(
        simulated.backend, sim, "http://simulator", simulated.clock, transport=SimulatorTransport(sim)
    ) as seeder:
        options = seeder.list_hardware(model)
        option = next((o for o in options if GPU in o.id), options[0])
        drafts = [
            LaunchDraft(
                model=model,
                hardware=option.id,
                min_replicas=1,
                max_replicas=2,
                display_name=f"bench-{i}",
                inactive_timeout=0,
                start_now=False,  # created STOPPED: nothing moves until the benchmark says so
            )
            for i in range(size)
        ]
        infos = [
            seeder.create_endpoint(
                LaunchSpec(
                    model=d.model,
                    hardware=d.hardware,
                    min_replicas=d.min_replicas,
                    max_replicas=d.max_replicas,
                    display_name=d.display_name,
                    inactive_timeout=d.inactive_timeout,
                    start=d.start_now,
                )
            )
            for d in drafts
        ]
    with bot.store.transaction() as tx:
        for draft, info in zip(drafts, infos, strict=True):
            request_id = tx.insert_request(
                team_id=TEAM,
                channel_id=CHANNEL,
                requested_by=REQUESTER,
                draft=draft,
                cents_per_minute=option.cents_per_minute,
            )
            tx.insert_decision(
                request_id=request_id, team_id=TEAM, user_id=APPROVER, decision="approved", note=None
            )
            tx.move_request(request_id, [RequestStatus.PENDING], RequestStatus.LAUNCHED, launched_at=utcnow())
            tx.insert_endpoint(
                endpoint_id=info.id,
                request_id=request_id,
                team_id=TEAM,
                name=info.name,
                model=info.model or model,
                hardware=info.hardware or option.id,
                state=info.state,
            )
    return infos


def state_setter(simulated: Simulated, infos: list[EndpointInfo]) -> Callable[[str], None]:
    """Sets every seeded endpoint's state on the simulator, as the console would (no bot call)."""
    sim = simulated.sim
    if simulated.backend == "v1":
        ids = [info.id for info in infos]

        def set_v1(state: str) -> None:
            for endpoint_id in ids:
                sim.force_state(endpoint_id, state)

        return set_v1
    snapshot = sim.v2_endpoints
    deployments = [snapshot[info.id]["_deployments"][0]["id"] for info in infos]

    def set_v2(state: str) -> None:
        for deployment_id in deployments:
            sim.force_deployment_state(deployment_id, state)

    return set_v2


# --- ticks ----------------------------------------------------------------------------------------


def requests_after(sim: TogetherSimulator, marker: RecordedRequest | None) -> list[RecordedRequest]:
    """The simulator's requests since `marker` (the last one seen before), robust to its bounded log."""
    log = sim.requests
    if marker is None:
        return log
    for index in range(len(log) - 1, -1, -1):
        if log[index] is marker:
            return log[index + 1 :]
    return log  # the marker left the bounded log: more requests than it holds


def tick(
    simulated: Simulated, counter: SqlCounter, sim_timer: SimTimer
) -> tuple[Tick, list[RecordedRequest]]:
    """One tick as the tracker loop runs it: the work, then the choice of the next interval."""
    bot, sim = simulated.bot, simulated.sim
    before = sim.requests
    marker = before[-1] if before else None
    counter.take()
    sim_timer.take_ms()
    counter.counting = True
    began = time.perf_counter()
    changes = cast(int, bot.tracker.work())  # the loop's own work: states, pending deletions, reminders
    poll_interval(bot.settings, bot.launches)
    elapsed = (time.perf_counter() - began) * 1000
    counter.counting = False
    calls = requests_after(sim, marker)
    return Tick(changes, len(calls), counter.take(), elapsed, sim_timer.take_ms()), calls


def call_paths(simulated: Simulated, calls: list[RecordedRequest]) -> Counter[str]:
    project = simulated.sim.project_id
    return Counter(f"{c.method} {c.path.replace(project, '{project}')}" for c in calls)


def peak_kib(run: Callable[[], object]) -> float:
    """Peak memory allocated while `run` ran, above what was allocated when it began (KiB)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - base) / 1024


def measure_size(backend: str, size: int, args: argparse.Namespace, fake: FakeSlack) -> list[Result]:
    with (
        scratch_database(args.database) as database_url,
        simulated_bot(database_url, fake, backend) as simulated,
    ):
        infos = seed(simulated, size)
        set_state = state_setter(simulated, infos)
        counter = SqlCounter(simulated.bot.store.engine)
        sim_timer = SimTimer(simulated.sim)
        states = [infos[0].state, UP_STATE[backend]]  # created STOPPED; flips between the two
        flips = 0

        def flip() -> None:
            nonlocal flips
            flips += 1
            set_state(states[flips % 2])

        steady = Result(backend, size, "steady")
        changing = Result(backend, size, "all change")
        for _ in range(args.warmup):  # v2's first tick also fetches the model catalogue, kept 10 minutes
            tick(simulated, counter, sim_timer)
        for _ in range(args.iterations):
            one, calls = tick(simulated, counter, sim_timer)
            steady.ticks.append(one)
            steady.calls = call_paths(simulated, calls)
        steady.peak_kib = peak_kib(lambda: track_and_interval(simulated))
        for _ in range(args.warmup):
            flip()
            tick(simulated, counter, sim_timer)
        for _ in range(args.iterations):
            flip()
            one, calls = tick(simulated, counter, sim_timer)
            changing.ticks.append(one)
            changing.calls = call_paths(simulated, calls)
        flip()
        changing.peak_kib = peak_kib(lambda: track_and_interval(simulated))
        for result, expected in ((steady, 0), (changing, size)):
            wrong = [t.changes for t in result.ticks if t.changes != expected]
            if wrong:
                print(
                    f"NOTE: {backend} N={size} {result.kind}: ticks recorded {wrong} changes, not {expected}"
                )
        return [steady, changing]


def track_and_interval(simulated: Simulated) -> None:
    simulated.bot.tracker.work()
    poll_interval(simulated.bot.settings, simulated.bot.launches)


def run(args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        for backend in args.backends:
            for size in args.sizes:
                results += measure_size(backend, size, args, fake)
    return results


def report(args: argparse.Namespace, results: list[Result]) -> str:
    rows = []
    for r in results:
        times = [t.ms for t in r.ticks]
        rows.append(
            [
                r.backend,
                r.size,
                r.kind,
                max(t.changes for t in r.ticks),
                max(t.together for t in r.ticks),
                r.sql_total,
                r.sql("SELECT"),
                r.sql("INSERT"),
                r.sql("UPDATE"),
                statistics.median(times),
                statistics.median(t.sim_ms for t in r.ticks),
                max(times),
                r.peak_kib,
            ]
        )
    lines = [
        "Tracker cost per tick (the tracker loop's work, then poll_interval, as the loop runs them)",
        "Together calls and SQL statements are per tick; 'of which sim' is the simulator's own share of ms p50",
        f"{database_label(args.database)} database, Together simulator over local HTTP, "
        f"{args.warmup} warm-up then {args.iterations} timed ticks per row; counts are per tick",
        "",
        format_table(
            [
                "api",
                "N",
                "tick",
                "changes",
                "Together calls",
                "SQL",
                "SELECT",
                "INSERT",
                "UPDATE",
                "ms p50",
                "of which sim",
                "ms max",
                "peak KiB",
            ],
            rows,
        ),
        "",
        "Together calls in the last timed tick of each row with the largest N:",
    ]
    largest = max(args.sizes)
    for r in results:
        if r.size == largest:
            calls = ", ".join(f"{path} x{n}" for path, n in sorted(r.calls.items()))
            lines.append(f"  {r.backend} {r.kind}: {calls or 'none'}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    results = run(args)
    print(report(args, results), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
