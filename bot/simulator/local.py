"""The Together simulator as a local service: for `bot shell`, `bot run --simulate` and `bot simulator`."""

from __future__ import annotations

from bot.domain.provider import EndpointProvider
from bot.simulator.clock import ScaledClock
from bot.simulator.core import TogetherSimulator
from bot.simulator.server import SimulatorServer
from bot.together.v1.client import TogetherClient
from bot.together.v2.client import TogetherV2Client

# Any bearer key opens a simulator started without one; the bot sends this.
LOCAL_KEY = "simulated-together-key"


def serve_simulator(
    *,
    speed: float = 1.0,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    v1_create_enabled: bool = True,
    latency: float = 0.0,
    latency_path: str = ".*",
) -> SimulatorServer:
    """A started simulator (v1 and v2 APIs) whose clock runs `speed` times faster than real time; requests
    whose path matches `latency_path` are answered `latency` seconds late (real time)."""
    sim = TogetherSimulator(clock=ScaledClock(speed), api_key=api_key, v1_create_enabled=v1_create_enabled)
    if latency > 0:
        sim.set_latency(latency, path=latency_path)
    return SimulatorServer(sim, host, port).start()


def simulator_client(
    server: SimulatorServer, api_key: str | None = None, *, api: str = "auto"
) -> EndpointProvider:
    """The bot's own Together client, pointed at a local simulator.

    `api` is TOGETHER_API: "v2" uses the simulator's v2 API and project; "v1" and "auto" use v1, whose
    creation the simulator allows unless told otherwise (locally there is no account to ask).
    """
    key = api_key or LOCAL_KEY
    if api.strip().lower() == "v2":
        return TogetherV2Client(
            server.url, key, server.sim.project_id, timeout=10, backoff_base=0.05, backoff_cap=0.5
        )
    return TogetherClient(server.url + "/v1", key, timeout=10, backoff_base=0.05, backoff_cap=0.5)
