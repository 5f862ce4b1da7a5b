"""The benchmarks still run, on tiny sizes, and print their tables.

Only that: no figure they print is checked. Speed is never asserted in a test (it would flake).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ACK_HEADERS = (
    "target",
    "request",
    "n",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
    "Bot overhead over the baseline",
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


def test_ack_latency_help_and_bad_options() -> None:
    assert "usage: python -m benchmarks.ack_latency" in ok(run("benchmarks.ack_latency", "--help"))
    result = run("benchmarks.ack_latency", "--requests", "deploy")
    assert result.returncode == 2 and "create, list and approve" in result.stderr
