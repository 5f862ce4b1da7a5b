"""The official `together` SDK 3.x works against the simulator for every call the bot makes.

SDK 3.x cannot be installed beside the 2.x SDK other tests use, so it goes into `.cache/together-sdk3`
on first use and the conformance script runs in a subprocess with that folder on PYTHONPATH.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.simulator.clock import ManualClock
from bot.simulator.core import TogetherSimulator
from bot.simulator.server import SimulatorServer

ROOT = Path(__file__).resolve().parents[2]
SDK_DIR = ROOT / ".cache" / "together-sdk3"
SCRIPT = Path(__file__).with_name("sdk3_conformance.py")
KEY = "sdk3-test-key-0123456789"
NO_NETWORK = (
    "NewConnectionError",
    "Network is unreachable",
    "Temporary failure in name resolution",
    "Name or service not known",
    "No matching distribution found",
    "Could not find a version that satisfies",
    "ConnectTimeout",
    "ReadTimeout",
)


def _installed() -> bool:
    return (SDK_DIR / "together" / "__init__.py").exists() and any(SDK_DIR.glob("together-3.*.dist-info"))


@pytest.fixture(scope="session")
def sdk3_path() -> str:
    """A folder holding `together>=3,<4`, installed there on first use."""
    if not _installed():
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(SDK_DIR),
                "together>=3,<4",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            output = result.stdout + result.stderr
            if any(sign in output for sign in NO_NETWORK):
                pytest.skip(
                    f"cannot install the together 3.x SDK without network access: {output.strip()[-300:]}"
                )
            raise AssertionError(f"pip could not install together 3.x:\n{output}")
    return str(SDK_DIR)


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    # Stops take no simulated time, so the script can delete without moving the clock.
    sim = TogetherSimulator(clock=ManualClock(), api_key=KEY, v2_durations={"STOPPING": 0})
    with SimulatorServer(sim) as running:
        yield running


def test_sdk3_works_against_the_simulator(sdk3_path: str, server: SimulatorServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGETHER_")}
    env["PYTHONPATH"] = sdk3_path
    result = subprocess.run(
        [sys.executable, str(SCRIPT), server.url, KEY, server.sim.project_id],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sdk3 conformance: ok" in result.stdout
    calls = {
        (r.method, r.path.replace(server.sim.project_id, "P").split("/ep_")[0]) for r in server.sim.requests
    }
    assert ("PATCH", "/v2/projects/P/endpoints") in calls and ("GET", "/v3/whoami") in calls
