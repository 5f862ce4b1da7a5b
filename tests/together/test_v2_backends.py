"""Choosing v1 or v2 (`TOGETHER_API`, `TOGETHER_PROJECT_ID`, whoami), settings, and v1 create switched off."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from bot.domain.provider import LaunchSpec, ProviderForbidden
from bot.runtime import together_provider
from bot.simulator.core import TogetherSimulator
from bot.simulator.server import SimulatorServer
from bot.together.backends import make_provider
from bot.together.v1.client import TogetherClient
from bot.together.v2.client import TogetherV2Client

KEY = "backend-test-key-0123456789"
V1_SPEC = LaunchSpec(model="Qwen/QwQ-32B", hardware="1x_nvidia_h100_80gb_sxm", min_replicas=1, max_replicas=1)


@pytest.fixture
def sim_key() -> str:
    return KEY  # conftest's `sim` and `sim_server` accept this key


def whoami_calls(sim: TogetherSimulator) -> int:
    return sum(1 for r in sim.requests if r.path == "/v3/whoami")


def test_explicit_v1_and_v2_ask_nothing(sim_server: SimulatorServer, sim: TogetherSimulator) -> None:
    v1 = make_provider("v1", sim_server.url + "/v1", KEY, None)
    v2 = make_provider("V2", sim_server.url, KEY, "proj_given")
    assert isinstance(v1, TogetherClient) and v1.api_version == "v1"
    assert isinstance(v2, TogetherV2Client) and v2.project_id == "proj_given" and v2.api_version == "v2"
    assert v1.root_url == v2.root_url == sim_server.url
    assert sim.requests == []


def test_auto_with_a_project_id_is_v2_without_asking(
    sim_server: SimulatorServer, sim: TogetherSimulator
) -> None:
    provider = make_provider("auto", sim_server.url, KEY, sim.project_id)
    assert isinstance(provider, TogetherV2Client)
    assert sim.requests == []


def test_auto_asks_whoami_for_the_keys_project(sim_server: SimulatorServer, sim: TogetherSimulator) -> None:
    provider = make_provider("auto", sim_server.url + "/v1", KEY, None)
    assert isinstance(provider, TogetherV2Client) and provider.project_id == sim.project_id
    assert whoami_calls(sim) == 1


def test_auto_with_an_org_key_is_v1(sim_server: SimulatorServer, sim: TogetherSimulator) -> None:
    sim.configure_v2(key_type="org_api_key")
    assert isinstance(make_provider("auto", sim_server.url, KEY, None), TogetherClient)


def test_auto_is_v1_when_whoami_is_refused(sim_server: SimulatorServer, sim: TogetherSimulator) -> None:
    sim.inject("GET", r"/v3/whoami", 404)
    assert isinstance(make_provider("auto", sim_server.url, KEY, ""), TogetherClient)


def test_v2_without_a_project_says_what_to_set(sim_server: SimulatorServer, sim: TogetherSimulator) -> None:
    sim.configure_v2(key_type="org_api_key")
    with pytest.raises(ConfigError, match="TOGETHER_PROJECT_ID"):
        make_provider("v2", sim_server.url, KEY, None)
    sim.configure_v2(key_type="project_api_key")
    provider = make_provider("v2", sim_server.url, KEY, None)
    assert isinstance(provider, TogetherV2Client) and provider.project_id == sim.project_id


def test_auto_does_not_guess_when_together_cannot_be_asked(
    sim_server: SimulatorServer, sim: TogetherSimulator
) -> None:
    sim.inject("GET", r"/v3/whoami", 503, times=10)
    with pytest.raises(ConfigError, match="TOGETHER_PROJECT_ID"):
        make_provider("auto", sim_server.url, KEY, None, sleep=lambda _: None)


def test_an_unknown_api_is_refused() -> None:
    with pytest.raises(ConfigError, match="v1, v2, auto"):
        make_provider("v3", "https://x", KEY, None)


def test_settings_validate_together_api(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().together_api == "auto"
    assert load_settings(together_api="V2", together_project_id="  ").together_project_id is None
    monkeypatch.setenv("TOGETHER_API", "beta")
    with pytest.raises(ConfigError, match="TOGETHER_API.*v1, v2 or auto"):
        load_settings()


def test_runtime_builds_the_configured_backend(sim_server: SimulatorServer, sim: TogetherSimulator) -> None:
    settings = load_settings(
        together_api_key=KEY, together_base_url=sim_server.url + "/v1", together_project_id=sim.project_id
    )
    assert isinstance(together_provider(settings), TogetherV2Client)
    settings = load_settings(
        together_api_key=KEY, together_base_url=sim_server.url + "/v1", together_api="v1"
    )
    assert isinstance(together_provider(settings), TogetherClient)


def test_v1_create_disabled_still_answers_403_while_v2_works(sim_server: SimulatorServer) -> None:
    sim = sim_server.sim
    sim.v1_create_enabled = False
    with TogetherClient(sim_server.url, KEY) as v1:
        with pytest.raises(ProviderForbidden) as caught:
            v1.create_endpoint(V1_SPEC)
        assert caught.value.code == "endpoints_v1_create_access_disabled"
        assert v1.list_endpoints() == []  # reads still work on v1
    with TogetherV2Client(sim_server.url, KEY, sim.project_id) as v2:
        assert v2.create_endpoint(V1_SPEC).state == "PROVISIONING"
