"""Together's own `tg` CLI (from `together` 3.1.1) works against `bot simulator`, as a user drives it.

The CLI goes into `.cache/together-3.1.1` on first use (it cannot live beside the 2.x SDK other tests use)
and runs in subprocesses against `bot simulator` started as its own process, at 300x speed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.together.test_v2_sdk import NO_NETWORK

ROOT = Path(__file__).resolve().parents[2]
CLI_DIR = ROOT / ".cache" / "together-3.1.1"
TG = CLI_DIR / "bin" / "tg"
BOT = Path(sys.executable).with_name("bot")
KEY = "tg-cli-test-key-0123456789"
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"


@pytest.fixture(scope="session")
def cli_path() -> str:
    """A folder holding `together==3.1.1` and its `tg` entry point, installed there on first use."""
    if not (TG.exists() and any(CLI_DIR.glob("together-3.1.1.dist-info"))):
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            + ["--target", str(CLI_DIR), "together==3.1.1"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            output = result.stdout + result.stderr
            if any(sign in output for sign in NO_NETWORK):
                pytest.skip(f"cannot install together 3.1.1 without network access: {output.strip()[-300:]}")
            raise AssertionError(f"pip could not install together 3.1.1:\n{output}")
    return str(CLI_DIR)


@pytest.fixture
def simulator() -> Iterator[tuple[str, str]]:
    """`bot simulator` on a free port: (its URL, its project id)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOGETHER_", "SLACK_", "BOT_"))}
    process = subprocess.Popen(
        [str(BOT), "simulator", "--port", "0", "--speed", "300", "--api-key", KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        found = re.search(r"v2 API at (http://[\d.:]+)/v2/projects/(proj_\w+)", banner)
        assert found, banner
        yield found.group(1), found.group(2)
    finally:
        process.terminate()
        process.wait(timeout=10)


class Tg:
    def __init__(self, cli_path: str, url: str, project: str) -> None:
        self.project = project
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TOGETHER_")}
        self.env |= {
            "PYTHONPATH": cli_path,
            "TOGETHER_BASE_URL": url,
            "TOGETHER_API_KEY": KEY,
            "COLUMNS": "250",
            "NO_COLOR": "1",
        }

    def run(self, *args: str, json_output: bool = True) -> subprocess.CompletedProcess[str]:
        flags = ["--project", self.project, "--non-interactive"] + (["--json"] if json_output else [])
        return subprocess.run(
            [sys.executable, str(TG), *flags, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env,
        )

    def ok(self, *args: str) -> Any:
        result = self.run(*args)
        assert result.returncode == 0, f"tg {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return json.loads(result.stdout)


def h100_config(url: str) -> str:
    answer = httpx.get(
        f"{url}/v2/supported-models", params={"search": MODEL}, headers={"Authorization": f"Bearer {KEY}"}
    )
    (entry,) = answer.json()["data"]
    return next(
        p["profileId"] for p in entry["deploymentProfiles"] if p["gpuType"] == "H100" and p["gpuCount"] == 1
    )


def wait_for(url: str, project: str, endpoint: str, state: str) -> str:
    """Poll the simulator (not the CLI: each run costs seconds) until the deployment reaches `state`."""
    deadline = time.monotonic() + 30
    while True:
        read = httpx.get(
            f"{url}/v2/projects/{project}/endpoints/{endpoint}", headers={"Authorization": f"Bearer {KEY}"}
        )
        found = str(read.json()["deployments"][0]["state"])
        if found == f"DEPLOYMENT_STATE_{state}" or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_tg_cli_deploys_lists_retrieves_updates_follows_and_removes(
    cli_path: str, simulator: tuple[str, str]
) -> None:
    url, project = simulator
    tg = Tg(cli_path, url, project)

    # Deploy as the CLI's docs show, without --deployment-name: its default name has capitals.
    deployed = tg.ok("endpoints", "deploy", MODEL, "--config", h100_config(url), "--endpoint", "tg-demo")
    endpoint, dep = deployed["endpoint"]["id"], deployed["deployment"]["id"]
    assert re.fullmatch(
        r"simuser/tg-demo/meta-llama-Meta-Llama-3\.1-8B-Instruct-Turbo-[0-9a-f]{8}",
        deployed["deployment"]["name"],
    )

    listed = tg.ok("endpoints", "ls")
    assert [e["id"] for e in listed["data"]] == [endpoint]
    table = tg.run("endpoints", "ls", json_output=False)
    assert table.returncode == 0, table.stderr
    assert "meta-llama/Meta-Llama-3.1-8B" in table.stdout and "ml_" not in table.stdout  # names, not ids

    assert wait_for(url, project, endpoint, "READY") == "DEPLOYMENT_STATE_READY"
    shown = tg.run("endpoints", "retrieve", endpoint, json_output=False)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "simuser/tg-demo" in shown.stdout

    updated = tg.ok(
        "endpoints", "update", dep, "--min-replicas", "2", "--max-replicas", "2", "--traffic-weight", "1"
    )
    assert updated["id"] == dep and updated["autoscaling"] == {"minReplicas": 2, "maxReplicas": 2}
    routed = tg.ok("endpoints", "retrieve", endpoint)
    assert routed["trafficSplit"] == [{"deploymentId": dep, "weight": 1}]

    events = tg.ok("endpoints", "events", endpoint, "--types", "pod.startup_phase_changed")
    phases = [e["reason"] for e in reversed(events["data"])]
    assert phases[:1] == ["PullingImage"] and "StartupComplete" in phases
    everything = tg.ok("endpoints", "events", endpoint)
    assert {"endpoint.created", "deployment.created", "deployment.status_updated", "deployment.scaled"} <= {
        e["type"] for e in everything["data"]
    }

    stopped = tg.ok("endpoints", "update", dep, "--min-replicas", "0", "--max-replicas", "0")
    assert stopped["id"] == dep
    assert wait_for(url, project, endpoint, "STOPPED") == "DEPLOYMENT_STATE_STOPPED"
    removed = tg.ok("endpoints", "rm", dep)
    assert removed["type"] == "deployment" and "Deleted" in removed["message"], removed
    assert tg.ok("endpoints", "rm", endpoint)["type"] == "endpoint"
    assert tg.ok("endpoints", "ls")["data"] == []
