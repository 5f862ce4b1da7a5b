"""The Together simulator as a local service: for `bot shell`, `bot run --simulate` and `bot simulator`."""

from __future__ import annotations

from bot.together.client import TogetherClient
from bot.together.simulator import ScaledClock, SimulatorServer, TogetherSimulator

# Any bearer key opens a simulator started without one; the bot sends this.
LOCAL_KEY = "simulated-together-key"


def serve_simulator(
    *, speed: float = 1.0, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None
) -> SimulatorServer:
    """A started simulator whose clock runs `speed` times faster than real time."""
    return SimulatorServer(TogetherSimulator(clock=ScaledClock(speed), api_key=api_key), host, port).start()


def simulator_client(server: SimulatorServer, api_key: str | None = None) -> TogetherClient:
    """The bot's own Together client, pointed at a local simulator."""
    return TogetherClient(
        server.url + "/v1", api_key or LOCAL_KEY, timeout=10, backoff_base=0.05, backoff_cap=0.5
    )
