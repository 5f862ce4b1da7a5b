"""`bot simulator` through the official `together` SDK (2.x, which speaks v1), as another tool would use it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
import together
from together import Together

from tests.support.paths import ROOT

KEY = "tk-simulator-test-key"
LLAMA_8B = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
A100 = "1x_nvidia_a100_80gb_sxm"


@pytest.fixture(scope="module")
def simulator_url() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "simulator", "--port", "0", "--api-key", KEY, "--speed", "600"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        found = re.search(r"(http://\S+/v1)", banner)
        assert found, banner
        yield found.group(1)
    finally:
        process.terminate()
        process.communicate(timeout=20)
    assert process.returncode == 0


@pytest.fixture
def client(simulator_url: str) -> Iterator[Together]:
    with Together(api_key=KEY, base_url=simulator_url, max_retries=0, _strict_response_validation=True) as c:
        yield c


def test_every_endpoint_method_parses_with_the_sdk(client: Together) -> None:
    hardware = client.endpoints.list_hardware()
    assert hardware.object == "list" and any(h.id == A100 for h in hardware.data)
    fitting = client.endpoints.list_hardware(model=LLAMA_8B)
    a100 = next(h for h in fitting.data if h.id == A100)
    assert a100.availability is not None and a100.availability.status == "available"
    assert a100.pricing.cents_per_minute > 0 and a100.specs.gpu_count == 1

    created = client.endpoints.create(
        model=LLAMA_8B,
        hardware=A100,
        autoscaling={"min_replicas": 1, "max_replicas": 2},
        display_name="sdk-check",
        inactive_timeout=30,
    )
    assert created.state == "PENDING" and created.display_name == "sdk-check"
    assert created.autoscaling.min_replicas == 1 and created.autoscaling.max_replicas == 2

    fetched = client.endpoints.retrieve(created.id)
    assert fetched.id == created.id and fetched.model == LLAMA_8B and fetched.hardware == A100

    listed = client.endpoints.list(type="dedicated", mine=True)
    assert [e.id for e in listed.data] == [created.id]
    assert any(e.type == "serverless" for e in client.endpoints.list().data)

    updated = client.endpoints.update(
        created.id,
        autoscaling={"min_replicas": 2, "max_replicas": 3},
        display_name="renamed",
        state="STOPPED",
    )
    assert updated.display_name == "renamed" and updated.autoscaling.max_replicas == 3
    assert updated.state in ("STOPPING", "STOPPED")

    assert client.endpoints.delete(created.id) is None
    assert created.id not in [e.id for e in client.endpoints.list(mine=True).data]


def test_states_advance_on_the_simulators_clock(client: Together) -> None:
    created = client.endpoints.create(
        model=LLAMA_8B, hardware=A100, autoscaling={"min_replicas": 1, "max_replicas": 1}
    )
    deadline = time.monotonic() + 10
    while client.endpoints.retrieve(created.id).state != "STARTED":  # 240 simulated s at 600x
        assert time.monotonic() < deadline
        time.sleep(0.05)
    client.endpoints.delete(created.id)


def test_a_missing_or_wrong_key_is_a_401(simulator_url: str) -> None:
    wrong = Together(api_key="some-other-key", base_url=simulator_url, max_retries=0)
    with pytest.raises(together.AuthenticationError) as caught:
        wrong.endpoints.list()
    wrong.close()
    assert caught.value.status_code == 401
    assert "Invalid API key" in str(caught.value)
    assert httpx.get(simulator_url + "/endpoints").status_code == 401  # no Authorization header at all


def test_unknown_endpoint_is_a_404(client: Together) -> None:
    with pytest.raises(together.NotFoundError) as caught:
        client.endpoints.retrieve("endpoint-does-not-exist")
    assert caught.value.status_code == 404 and "not found" in str(caught.value)


def test_bad_hardware_is_a_400(client: Together) -> None:
    with pytest.raises(together.BadRequestError) as caught:
        client.endpoints.create(
            model=LLAMA_8B, hardware="1x_nvidia_a99", autoscaling={"min_replicas": 1, "max_replicas": 1}
        )
    assert caught.value.status_code == 400 and "invalid hardware" in str(caught.value)
    body = caught.value.body
    assert isinstance(body, dict) and body["error"]["param"] == "hardware"


def test_bot_simulator_latency_slows_the_routes_it_names() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "simulator",
            "--port",
            "0",
            "--latency",
            "1",
            "--latency-on",
            "/v1/hardware",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert "answers 1 s late on /v1/hardware" in banner, banner
        found = re.search(r"(http://\S+/v1)", banner)
        assert found, banner
        headers = {"Authorization": "Bearer any"}
        with httpx.Client(base_url=found.group(1), headers=headers, timeout=10) as http:
            started = time.monotonic()
            assert http.get("/hardware").status_code == 200
            slow = time.monotonic() - started
            started = time.monotonic()
            assert http.get("/models").status_code == 200
            fast = time.monotonic() - started
        assert slow >= 1.0 and fast < 0.5, (slow, fast)
    finally:
        process.terminate()
        process.communicate(timeout=20)


def test_bot_simulator_refuses_a_negative_latency() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "simulator", "--latency", "-2"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "can't be negative" in result.stderr
