"""The benchmarks still run, on tiny sizes, and print their tables.

Only that: no figure they print is checked. Speed is never asserted in a test (it would flake).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from tests.support.databases import DATABASES, PG_ROOT
from tests.support.paths import ROOT

ACK_HEADERS = (
    "target",
    "request",
    "n",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
    "CPU ms/req",
    "Bot overhead over the baseline",
)
TRACKER_HEADERS = (
    "api",
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
)


def run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_ack_latency_runs_and_prints_its_tables() -> None:
    out = ok(run("benchmarks.ack_latency", "--iterations", "2", "--warmup", "1"))
    for header in ACK_HEADERS:
        assert header in out
    for row in ("baseline", "bot", "/endpoint create llama-8b h100 2-5", "/endpoint list", "click Approve"):
        assert row in out


def test_ack_latency_with_concurrent_clients() -> None:
    out = ok(
        run(
            "benchmarks.ack_latency",
            "--iterations",
            "2",
            "--warmup",
            "0",
            "--concurrency",
            "2",
            "--requests",
            "list",
        )
    )
    assert "2 client process(es)" in out
    assert "/endpoint list" in out and "/endpoint create" not in out


def test_tracker_cost_runs_on_both_apis_and_prints_its_table() -> None:
    out = ok(run("benchmarks.tracker_cost", "--sizes", "1,2", "--iterations", "1", "--warmup", "0"))
    for header in TRACKER_HEADERS:
        assert header in out
    for row in ("v1", "v2", "steady", "all change"):
        assert row in out
    assert "NOTE:" not in out  # every tick recorded the changes it was set up to see


def bench_schemas() -> set[str]:
    engine = create_engine(PG_ROOT)
    try:
        with engine.connect() as connection:
            return set(
                connection.scalars(
                    text(
                        "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'bench%'"
                    )
                )
            )
    finally:
        engine.dispose()


@pytest.mark.skipif("postgresql" not in DATABASES, reason="PostgreSQL is not among BOT_TEST_DATABASES")
def test_tracker_cost_on_postgresql_drops_its_scratch_schema() -> None:
    before = bench_schemas()
    out = ok(
        run(
            "benchmarks.tracker_cost",
            "--sizes",
            "2",
            "--backends",
            "v1",
            "--iterations",
            "1",
            "--database",
            PG_ROOT,
        )
    )
    assert "postgresql database" in out
    assert bench_schemas() <= before


def test_both_at_once_and_every_help() -> None:
    out = ok(run("benchmarks", "--quick"))
    assert "Slack ack latency" in out and "Tracker cost per tick" in out
    for module in ("benchmarks", "benchmarks.ack_latency", "benchmarks.tracker_cost"):
        assert "usage: python -m " + module in ok(run(module, "--help"))


def test_bad_options_are_refused_with_a_message() -> None:
    result = run("benchmarks.tracker_cost", "--sizes", "0")
    assert result.returncode == 2 and "1 or more" in result.stderr
    result = run("benchmarks.ack_latency", "--requests", "deploy")
    assert result.returncode == 2 and "create, list and approve" in result.stderr
