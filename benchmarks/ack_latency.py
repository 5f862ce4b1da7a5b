"""How fast the bot answers Slack's HTTP requests (Slack gives up after 3 seconds).

Each request is a real signed Slack request POSTed over HTTP to the bot's `/slack/events`; the time is
from sending it until the HTTP answer (the ack) has arrived. The same requests go to a bare Bolt app on
the same server (`bot.server.ServerThread`), whose listeners only ack: the baseline, i.e. what signing
checks, Bolt and the HTTP server cost by themselves. The difference is the bot's own work before its ack,
and, when requests overlap, the work its listeners do after the ack (forms, answers, database), which
shares the process. The requests are sent from separate client processes (`--concurrency` of them).
The fake Slack and the Together simulator run in the bot's process, as in the tests.

    python -m benchmarks.ack_latency [--iterations 200] [--warmup 20] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from slack_bolt import Ack, App
from sqlalchemy import create_engine

from benchmarks import _client
from benchmarks._common import (
    APPROVER,
    BACKENDS,
    BOT_TOKEN,
    CHANNEL,
    REQUESTER,
    SIGNING_SECRET,
    database_label,
    format_table,
    percentile,
    quiet_logging,
    scratch_database,
    simulated_bot,
    whole_number,
)
from bot.sandbox.driver import SlackDriver
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedRequest, SlackRequests
from bot.server import ServerThread
from bot.slack.app import make_web_client
from bot.slack.ids import COMMAND, Action
from bot.store.store import Store

CREATE_TEXT = "create llama-8b h100 2-5"
LIST_TEXT = "list"
SLACK_LIMIT_MS = 3000.0

# One kind of request: a label, and how to build a fresh signed one (new trigger_id and response_url).
RequestMaker = Callable[[], SignedRequest]


@dataclass
class Row:
    target: str
    request: str
    latencies_ms: list[float]
    cpu_ms_per_request: float  # CPU time of this process (the app, the fakes) per request sent, timed or not

    def stats(self) -> list[float]:
        values = self.latencies_ms
        return [percentile(values, 50), percentile(values, 95), percentile(values, 99), max(values)]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ack_latency",
        description="Time Slack requests until the HTTP ack: the whole bot versus a bare Bolt app that only acks.",
    )
    parser.add_argument(
        "--iterations", type=whole_number(1), default=200, help="timed requests per row (default 200)"
    )
    parser.add_argument(
        "--warmup", type=whole_number(0), default=20, help="untimed requests per row first (default 20)"
    )
    parser.add_argument(
        "--concurrency",
        type=whole_number(1),
        default=1,
        help="client processes sending at the same time, each on its own connection (default 1)",
    )
    parser.add_argument(
        "--requests",
        default="create,list,approve",
        help="which requests, comma-separated, of create, list, approve (default all three)",
    )
    parser.add_argument("--backend", choices=BACKENDS, default="v1", help="Together API the bot uses")
    parser.add_argument(
        "--database",
        metavar="URL",
        help="a PostgreSQL URL: the bot's tables go in a scratch schema there, dropped afterwards "
        "(default: SQLite in a temporary folder)",
    )
    args = parser.parse_args(argv)
    wanted = [r.strip() for r in args.requests.split(",") if r.strip()]
    unknown = sorted(set(wanted) - {"create", "list", "approve"})
    if unknown or not wanted:
        parser.error(f"--requests takes create, list and approve (got {args.requests!r})")
    args.requests = wanted
    return args


class Clients:
    """`concurrency` sending processes, kept for the whole run (starting one takes a while)."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(
            concurrency, initializer=_client.init, initargs=(context.Barrier(concurrency),)
        )

    def measure(
        self, url: str, make: RequestMaker, *, iterations: int, warmup: int
    ) -> tuple[list[float], int]:
        """Latencies in ms of `iterations` requests shared among the clients, which start together after
        `warmup` untimed requests between them (at least one each, to open its connection); and how many
        requests were sent in all."""
        jobs = []
        for i in range(self.concurrency):
            untimed = max(1, _share(warmup, self.concurrency, i))
            timed = _share(iterations, self.concurrency, i)
            jobs.append(
                (url, [_prepared(make()) for _ in range(untimed)], [_prepared(make()) for _ in range(timed)])
            )
        # One job per process: each waits at the barrier until all have started, so none takes two.
        results = self._pool.map(_client.send, jobs, chunksize=1)
        sent = sum(len(untimed) + len(timed) for _, untimed, timed in jobs)
        return [t for times in results for t in times], sent

    def close(self) -> None:
        self._pool.close()
        self._pool.join()


def _share(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


def _prepared(request: SignedRequest) -> _client.Prepared:
    return request.body, dict(request.headers)


def wait_until_quiet(fake: FakeSlack, quiet_for: float = 0.5, timeout: float = 60.0) -> None:
    """Wait until the fake Slack has had no call for `quiet_for` seconds: the work listeners do after
    their ack (opening forms, answering) is over, so it does not spill into the next row."""
    deadline = time.monotonic() + timeout
    seen, since = len(fake.calls()), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = len(fake.calls())
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_for:
            return


@contextmanager
def bare_app(fake: FakeSlack) -> Iterator[ServerThread]:
    """The baseline: a Bolt app configured as the bot's (`bot.slack.app.build_app`) whose listeners only
    ack, on the same ASGI server and thread."""
    app = App(
        client=make_web_client(BOT_TOKEN, fake.base_url),
        signing_secret=SIGNING_SECRET,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        listener_executor=ThreadPoolExecutor(max_workers=16, thread_name_prefix="bolt"),
    )

    @app.command(COMMAND)
    def _command(ack: Ack) -> None:
        ack()

    @app.action(Action.APPROVE)
    def _approve(ack: Ack) -> None:
        ack()

    engine = create_engine("sqlite://")  # the server's /healthz needs a store; nothing here uses it
    server = ServerThread(app, Store(engine)).start()
    try:
        yield server
    finally:
        server.stop()
        engine.dispose()


def pending_request_card(driver: SlackDriver, fake: FakeSlack) -> Callable[[], SignedRequest]:
    """Ask for a launch through the bot (command, form, submit) and return a maker of Approve clicks on
    its card. Opening the approval form decides nothing, so every click finds the request pending."""
    driver.command(REQUESTER, CREATE_TEXT, channel=CHANNEL)
    driver.wait_for_view(REQUESTER, timeout=10)
    errors = driver.submit(REQUESTER)
    if errors:
        raise SystemExit(f"the launch form was refused: {errors}")
    deadline = time.monotonic() + 15
    while True:
        try:
            message, button = driver.find_button("Approve", channel=CHANNEL)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise SystemExit("the bot never posted the launch request card") from None
            time.sleep(0.05)
    return lambda: driver.requests.block_action(APPROVER, action_id=button["action_id"], message=message)


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    with (
        FakeSlack(bot_token=BOT_TOKEN) as fake,
        scratch_database(args.database) as database_url,
        simulated_bot(database_url, fake, args.backend) as simulated,
    ):
        bot = simulated.bot
        bot.start()  # the loops run as under `bot run`: the hardware cache warms, the publisher delivers
        requests = SlackRequests(SIGNING_SECRET, response_url_factory=fake.response_url)
        makers: dict[str, tuple[str, RequestMaker]] = {
            "create": (
                f"/endpoint {CREATE_TEXT}",
                lambda: requests.slash_command(REQUESTER, CHANNEL, COMMAND, CREATE_TEXT),
            ),
            "list": (
                f"/endpoint {LIST_TEXT}",
                lambda: requests.slash_command(REQUESTER, CHANNEL, COMMAND, LIST_TEXT),
            ),
        }
        with ServerThread(bot.app, bot.store) as server:
            events_url = server.url + "/slack/events"
            if "approve" in args.requests:
                driver = SlackDriver(fake, SIGNING_SECRET, events_url)
                try:
                    makers["approve"] = ("click Approve (opens a form)", pending_request_card(driver, fake))
                finally:
                    driver.close()
            chosen = [makers[name] for name in args.requests]
            clients = Clients(args.concurrency)
            try:
                with bare_app(fake) as baseline:
                    for label, make in chosen:
                        for target, url in (
                            ("baseline", baseline.url + "/slack/events"),
                            ("bot", events_url),
                        ):
                            cpu = time.process_time()
                            times, sent = clients.measure(
                                url, make, iterations=args.iterations, warmup=args.warmup
                            )
                            wait_until_quiet(fake)  # the work after the ack is part of the CPU figure
                            cpu_ms = (time.process_time() - cpu) * 1000 / sent
                            rows.append(Row(target, label, times, cpu_ms))
            finally:
                clients.close()
    return rows


def report(args: argparse.Namespace, rows: list[Row]) -> str:
    lines = [
        "Slack ack latency: a signed request sent until its HTTP answer arrived, in ms "
        f"(Slack allows {SLACK_LIMIT_MS:.0f})",
        f"{database_label(args.database)} database, Together {args.backend} simulator, "
        f"{args.warmup} warm-up then {args.iterations} timed requests per row, "
        f"{args.concurrency} client process(es) sending at once",
        "",
        format_table(
            ["target", "request", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "CPU ms/req"],
            [[r.target, r.request, len(r.latencies_ms), *r.stats(), r.cpu_ms_per_request] for r in rows],
            digits=2,
        ),
        "",
        "CPU ms/req: CPU time of the serving process per request, including the work after the ack and the",
        "fake Slack's and the simulator's share (the clients run in other processes)",
        "",
        "Bot overhead over the baseline (bot's figure minus the baseline's, ms)",
        "",
    ]
    overhead = []
    by_key = {(r.target, r.request): r for r in rows}
    for row in rows:
        if row.target != "bot" or ("baseline", row.request) not in by_key:
            continue
        baseline = by_key[("baseline", row.request)]
        overhead.append(
            [row.request]
            + [b - a for a, b in zip(baseline.stats(), row.stats(), strict=True)]
            + [row.cpu_ms_per_request - baseline.cpu_ms_per_request]
        )
    lines.append(
        format_table(["request", "p50 ms", "p95 ms", "p99 ms", "max ms", "CPU ms/req"], overhead, digits=2)
    )
    worst = max(max(r.latencies_ms) for r in rows)
    if worst > SLACK_LIMIT_MS:
        lines += ["", f"NOTE: a request took {worst:.0f} ms, over Slack's {SLACK_LIMIT_MS:.0f} ms."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    rows = run(args)
    print(report(args, rows), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
