"""`python -m benchmarks`: the ack latency benchmark, then the tracker cost benchmark, each with its defaults."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from benchmarks import ack_latency, tracker_cost


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run both benchmarks (ack_latency, tracker_cost) with their defaults and print their "
        "figures. Each also runs on its own with more options: python -m benchmarks.ack_latency --help.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and few iterations: checks that they run, the figures mean little",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="a PostgreSQL URL for both (scratch schemas, dropped afterwards); default SQLite",
    )
    args = parser.parse_args(argv)
    ack_args: list[str] = ["--iterations", "5", "--warmup", "1"] if args.quick else []
    tracker_args: list[str] = ["--sizes", "1,5", "--iterations", "1"] if args.quick else []
    if args.database:
        ack_args += ["--database", args.database]
        tracker_args += ["--database", args.database]
    status = ack_latency.main(ack_args)
    print(flush=True)
    return status or tracker_cost.main(tracker_args)


if __name__ == "__main__":
    raise SystemExit(main())
