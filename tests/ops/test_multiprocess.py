"""Several `bot run` processes sharing one PostgreSQL database: every click, launch and reply happens once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.audit import audit_rows
from bot.sandbox.driver import SlackDriver
from bot.sandbox.fake_slack import FakeSlack
from bot.simulator.server import SimulatorServer
from bot.store import Store
from bot.store.db import make_engine
from tests.support.databases import pg_schema
from tests.support.paths import ROOT
from tests.support.stack import (
    APPROVER,
    APPROVER_2,
    BOT_TOKEN,
    CHANNEL,
    REQUESTER,
    SIGNING_SECRET,
    TOGETHER_KEY,
)

pytestmark = pytest.mark.skipif(
    "postgresql" not in os.environ.get("BOT_TEST_DATABASES", "sqlite,postgresql"), reason="needs PostgreSQL"
)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema("mp_") as url:
        yield url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "TOGETHER_", "BOT_", "DATABASE_URL"))
    }
    env.update(extra)
    return env


def start_bot(
    pg_url: str, fake: FakeSlack, sim_server: SimulatorServer, port: int, log: Path
) -> subprocess.Popen:
    env = environment(
        DATABASE_URL=pg_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.base_url,
        TOGETHER_API_KEY=TOGETHER_KEY,
        TOGETHER_BASE_URL=sim_server.url + "/v1",
        TOGETHER_API="v1",  # the simulator also answers whoami with a project, which `auto` takes as v2
        BOT_APPROVERS=f"{APPROVER},{APPROVER_2}",
        BOT_POLL_SECONDS="0.2",
        BOT_POLL_IDLE_SECONDS="0.5",
        PORT=str(port),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def wait_healthy(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"bot exited: {log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"bot did not become healthy: {log.read_text()}")


def test_two_processes_hundred_concurrent_approvals_one_create(
    pg_url: str,
    fake_slack: FakeSlack,
    sim,
    sim_server: SimulatorServer,
    clock,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    ports = [free_port(), free_port()]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    processes = [
        start_bot(pg_url, fake_slack, sim_server, p, log) for p, log in zip(ports, logs, strict=True)
    ]
    try:
        for port, process, log in zip(ports, processes, logs, strict=True):
            wait_healthy(port, process, log)
        drivers = [
            SlackDriver(fake_slack, SIGNING_SECRET, f"http://127.0.0.1:{p}/slack/events") for p in ports
        ]
        drivers[0].command(REQUESTER, "create llama-8b h100 1-3")
        drivers[0].wait_for_view(REQUESTER)
        assert drivers[0].submit(REQUESTER) is None
        fake_slack.wait_for("chat.postMessage", lambda c: "Launch request #1" in (c.params.get("text") or ""))

        drivers[0].click(APPROVER, "Approve")
        view_1 = drivers[0].wait_for_view(APPROVER)
        drivers[1].click(APPROVER_2, "Approve")
        view_2 = drivers[1].wait_for_view(APPROVER_2)
        submissions = [
            (drivers[i % 2], drivers[i % 2].requests.view_submission(user, view))
            for i in range(50)
            for user, view in ((APPROVER, view_1), (APPROVER_2, view_2))
        ]
        barrier = threading.Barrier(len(submissions))
        answers: list[str] = []

        def send(driver: SlackDriver, request) -> None:  # type: ignore[no-untyped-def]
            barrier.wait()
            # A hundred submissions at one instant on a two-core machine is a test of exactly-once, not of
            # Slack's clock (which the launch-flow tests hold at 3 s): a late answer still counts here.
            answers.append(request.post(driver.events_url, httpx.Client(timeout=30), ack_seconds=30).text)

        threads = [threading.Thread(target=send, args=s) for s in submissions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum("errors" not in a for a in answers) == 1

        def replies() -> list[str]:
            (card,) = fake_slack.messages(CHANNEL)
            return [m.text for m in fake_slack.replies(CHANNEL, card.ts)]

        wait_for(lambda: any("State: *PENDING*" in r for r in replies()))
        clock.advance(61)
        wait_for(lambda: any("State: *STARTING*" in r for r in replies()))
        clock.advance(181)
        wait_for(lambda: any("State: *STARTED*" in r for r in replies()))
        wait_for(lambda: any("Smoke test passed" in r for r in replies()))
        time.sleep(1.5)  # both trackers and publishers keep running: nothing more may appear
        texts = replies()
        for state in ("PENDING", "STARTING", "STARTED"):
            assert sum(f"State: *{state}*" in t for t in texts) == 1, texts
        assert sum("Smoke test passed" in t for t in texts) == 1, texts  # one process claimed it
        assert len([r for r in sim.requests if r.path == "/v1/chat/completions"]) == 1
        assert sum("Approved by" in t for t in texts) == 1
        creates = [r for r in sim.requests if r.method == "POST" and r.path == "/v1/endpoints"]
        assert len(creates) == 1 and len(sim.endpoints) == 1
        (card,) = fake_slack.messages(CHANNEL)
        assert "STARTED" in json.dumps(card.blocks)
        engine = make_engine(pg_url)
        (row,) = audit_rows(Store(engine))
        engine.dispose()
        assert row["state"] == "STARTED" and row["approved_by"] in (APPROVER, APPROVER_2)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


def wait_for(condition, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    assert condition(), "timed out"


def test_processes_migrating_at_the_same_time(pg_url: str) -> None:
    env = environment(DATABASE_URL=pg_url)
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "migrate"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(r.wait(60), r.stderr.read() if r.stderr else "") for r in runs]
    assert all(code == 0 for code, _ in results), results
