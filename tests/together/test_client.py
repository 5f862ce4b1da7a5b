"""TogetherClient: URLs, request bodies, error mapping, the retry policy and keeping the key secret."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bot.domain.provider import (
    LaunchSpec,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderConflict,
    ProviderError,
    ProviderForbidden,
    ProviderNotFound,
    ProviderPaymentRequired,
    ProviderRateLimited,
    ProviderUnavailable,
)
from bot.simulator.core import TogetherSimulator
from bot.simulator.server import SimulatorServer
from bot.together.v1.client import TogetherClient

KEY = "tgp_v1_SECRET-key-do-not-leak-42"
SPEC = LaunchSpec(model="Qwen/QwQ-32B", hardware="1x_nvidia_h100_80gb_sxm", min_replicas=1, max_replicas=2)
ENDPOINT_ID = "endpoint-00000000-0000-4000-8000-000000000000"
ENDPOINT: dict[str, Any] = {
    "object": "endpoint",
    "id": ENDPOINT_ID,
    "name": "me/Qwen/QwQ-32B-0a1b2c3d",
    "display_name": "Qwen/QwQ-32B-0a1b2c3d",
    "model": "Qwen/QwQ-32B",
    "hardware": "1x_nvidia_h100_80gb_sxm",
    "type": "dedicated",
    "owner": "me",
    "state": "PENDING",
    "autoscaling": {"min_replicas": 1, "max_replicas": 2},
    "created_at": "2026-05-04T10:43:55.405Z",
    "some_future_field": {"ignored": True},
}


@pytest.fixture
def sim_key() -> str:
    return KEY  # conftest's `sim` and `sim_server` accept this key


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sim_server: SimulatorServer, sleeps: list[float]) -> Iterator[TogetherClient]:
    with TogetherClient(sim_server.url + "/v1", KEY, timeout=2.0, sleep=sleeps.append) as together:
        yield together


def mock_client(
    handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float] | None = None, **kwargs: Any
) -> TogetherClient:
    sleep = sleeps.append if sleeps is not None else (lambda _: None)
    return TogetherClient(
        "https://api.together.xyz/v1", KEY, sleep=sleep, transport=httpx.MockTransport(handler), **kwargs
    )


def error_response(status: int, message: str, code: str | None = None, **kwargs: Any) -> httpx.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
    return httpx.Response(status, json=body, **kwargs)


def count(sim: TogetherSimulator, method: str, path: str) -> int:
    return sum(1 for r in sim.requests if r.method == method and r.path == path)


# --- URLs, headers, bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "root"),
    [
        ("https://api.together.xyz/v1", "https://api.together.xyz"),
        ("https://api.together.xyz", "https://api.together.xyz"),
        ("https://api.together.xyz/", "https://api.together.xyz"),
        ("http://127.0.0.1:8090/v1/", "http://127.0.0.1:8090"),
    ],
)
def test_base_url_with_or_without_v1_reaches_v1_routes(base_url: str, root: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=ENDPOINT)

    client = TogetherClient(base_url, KEY, transport=httpx.MockTransport(handler))
    assert client.root_url == root
    client.get_endpoint(ENDPOINT_ID)
    assert str(seen[0].url) == f"{root}/v1/endpoints/{ENDPOINT_ID}"
    assert seen[0].headers["Authorization"] == f"Bearer {KEY}"
    assert seen[0].headers["User-Agent"] == "endpoint-bot/0.1"


def test_create_sends_the_documented_body(sim: TogetherSimulator, client: TogetherClient) -> None:
    client.create_endpoint(SPEC)
    client.create_endpoint(
        LaunchSpec(
            model="Qwen/QwQ-32B",
            hardware="1x_nvidia_h100_80gb_sxm",
            min_replicas=0,
            max_replicas=3,
            display_name="demo",
            inactive_timeout=0,
            disable_speculative_decoding=True,
            start=False,
        )
    )
    first, second = [r.json for r in sim.requests if r.method == "POST"]
    assert first == {
        "model": "Qwen/QwQ-32B",
        "hardware": "1x_nvidia_h100_80gb_sxm",
        "autoscaling": {"min_replicas": 1, "max_replicas": 2},
        "disable_prompt_cache": False,
        "disable_speculative_decoding": False,
        "state": "STARTED",
    }
    assert second["display_name"] == "demo"
    assert second["inactive_timeout"] == 0
    assert second["state"] == "STOPPED"
    assert second["disable_speculative_decoding"] is True


def test_create_and_get_convert_to_endpoint_info(client: TogetherClient) -> None:
    created = client.create_endpoint(SPEC)
    fetched = client.get_endpoint(created.id)
    assert fetched == created
    assert (fetched.hardware, fetched.min_replicas, fetched.max_replicas) == ("1x_nvidia_h100_80gb_sxm", 1, 2)
    assert fetched.created_at is not None and fetched.created_at.tzinfo is not None


def test_unknown_fields_are_ignored() -> None:
    client = mock_client(lambda request: httpx.Response(200, json=ENDPOINT))
    assert client.get_endpoint(ENDPOINT_ID).name == ENDPOINT["name"]


def test_list_endpoints_asks_for_own_dedicated_ones(sim: TogetherSimulator, client: TogetherClient) -> None:
    created = client.create_endpoint(SPEC)
    listed = client.list_endpoints()
    assert [e.id for e in listed] == [created.id]
    assert listed[0].hardware is None and listed[0].state == "PENDING"
    assert sim.requests[-1].query == {"type": "dedicated", "mine": "true"}


def test_update_fills_the_missing_autoscaling_bound(sim: TogetherSimulator, client: TogetherClient) -> None:
    ep = client.create_endpoint(SPEC)
    updated = client.update_endpoint(ep.id, max_replicas=5)
    assert (updated.min_replicas, updated.max_replicas) == (1, 5)
    patch = [r.json for r in sim.requests if r.method == "PATCH"]
    assert patch == [{"autoscaling": {"min_replicas": 1, "max_replicas": 5}}]


def test_update_sends_inactive_timeout_only_when_given(
    sim: TogetherSimulator, client: TogetherClient
) -> None:
    ep = client.create_endpoint(SPEC)
    client.update_endpoint(ep.id, display_name="x")
    client.update_endpoint(ep.id, inactive_timeout=None)
    client.update_endpoint(ep.id, inactive_timeout=15, state="STOPPED")
    patches = [r.json for r in sim.requests if r.method == "PATCH"]
    assert patches == [
        {"display_name": "x"},
        {"inactive_timeout": None},
        {"inactive_timeout": 15, "state": "STOPPED"},
    ]
    with pytest.raises(ValueError):
        client.update_endpoint(ep.id)


def test_delete_then_get_is_not_found(client: TogetherClient) -> None:
    ep = client.create_endpoint(SPEC)
    client.delete_endpoint(ep.id)
    with pytest.raises(ProviderNotFound) as caught:
        client.get_endpoint(ep.id)
    assert "not found" in caught.value.message


# --- error mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ProviderBadRequest),
        (401, ProviderAuthError),
        (402, ProviderPaymentRequired),
        (403, ProviderForbidden),
        (404, ProviderNotFound),
        (409, ProviderConflict),
        (418, ProviderBadRequest),
        (422, ProviderBadRequest),
        (429, ProviderRateLimited),
        (500, ProviderUnavailable),
        (502, ProviderUnavailable),
    ],
)
def test_statuses_map_to_provider_errors(status: int, error: type[ProviderError]) -> None:
    client = mock_client(
        lambda request: error_response(status, "Together says no", code="nope"), max_retries=0
    )
    with pytest.raises(error) as caught:
        client.get_endpoint("endpoint-x")
    assert type(caught.value) is error
    assert (caught.value.status, caught.value.message, caught.value.code) == (
        status,
        "Together says no",
        "nope",
    )
    assert caught.value.type == "invalid_request_error"


def test_non_json_and_empty_error_bodies_still_give_a_message() -> None:
    text = mock_client(lambda request: httpx.Response(502, text="<html>Bad gateway</html>"), max_retries=0)
    with pytest.raises(ProviderUnavailable) as caught:
        text.list_hardware()
    assert caught.value.message == "<html>Bad gateway</html>"
    empty = mock_client(lambda request: httpx.Response(503), max_retries=0)
    with pytest.raises(ProviderUnavailable) as caught:
        empty.list_hardware()
    assert caught.value.message == "Together answered HTTP 503 with no details"


def test_an_unreadable_success_body_is_a_provider_error() -> None:
    client = mock_client(lambda request: httpx.Response(200, json={"object": "endpoint", "id": "x"}))
    with pytest.raises(ProviderError, match="unexpected body"):
        client.get_endpoint("x")


def test_wrong_key_is_an_auth_error(sim_server: SimulatorServer) -> None:
    with TogetherClient(sim_server.url, "wrong-key") as client, pytest.raises(ProviderAuthError) as caught:
        client.list_endpoints()
    assert caught.value.code == "invalid_api_key"


def test_missing_key_is_an_auth_error(sim_server: SimulatorServer) -> None:
    with TogetherClient(sim_server.url, "") as client, pytest.raises(ProviderAuthError):
        client.list_hardware()


# --- retries -----------------------------------------------------------------------------------


def test_429_is_retried_after_the_retry_after_delay(
    sim: TogetherSimulator, client: TogetherClient, sleeps: list[float]
) -> None:
    sim.inject("GET", r"/v1/hardware", 429, retry_after=2)
    assert client.list_hardware()
    assert sleeps == [2.0]
    assert count(sim, "GET", "/v1/hardware") == 2


def test_retry_after_ms_wins_and_long_waits_are_capped(sleeps: list[float]) -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"retry-after-ms": "250", "Retry-After": "9"}),
            httpx.Response(429, headers={"Retry-After": "600"}),
            httpx.Response(200, json={"object": "list", "data": []}),
        ]
    )
    client = mock_client(lambda request: next(answers), sleeps)
    assert client.list_hardware() == []
    assert sleeps == [0.25, 60.0]


def test_rate_limit_that_outlasts_the_retries_is_raised(
    sim: TogetherSimulator, client: TogetherClient, sleeps: list[float]
) -> None:
    sim.inject("GET", r"/v1/endpoints", 429, times=10, retry_after=1)
    with pytest.raises(ProviderRateLimited) as caught:
        client.list_endpoints()
    assert caught.value.retry_after == 1.0
    assert len(sleeps) == 4
    assert count(sim, "GET", "/v1/endpoints") == 5


def test_get_is_retried_on_500_then_succeeds(
    sim: TogetherSimulator,
    client: TogetherClient,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    ep = client.create_endpoint(SPEC)
    sim.inject("GET", r"/v1/endpoints/.+", 500, times=2)
    with caplog.at_level(logging.WARNING, logger="bot.together.v1.client"):
        assert client.get_endpoint(ep.id).id == ep.id
    assert len(sleeps) == 2
    assert all(0 < delay <= 8.0 for delay in sleeps)
    retries = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 2
    assert "GET" in retries[0].getMessage() and f"/v1/endpoints/{ep.id}" in retries[0].getMessage()
    assert "500" in retries[0].getMessage()


def test_backoff_grows_and_is_capped(sleeps: list[float]) -> None:
    client = mock_client(lambda request: httpx.Response(503), sleeps, max_retries=6, backoff_cap=3.0)
    with pytest.raises(ProviderUnavailable) as caught:
        client.list_hardware()
    assert caught.value.ambiguous is False
    assert len(sleeps) == 6
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 1.5
    assert max(sleeps) == 3.0


def test_patch_and_delete_are_retried_on_5xx(
    sim: TogetherSimulator, client: TogetherClient, sleeps: list[float]
) -> None:
    ep = client.create_endpoint(SPEC)
    sim.inject("PATCH", r"/v1/endpoints/.+", 503)
    sim.inject("DELETE", r"/v1/endpoints/.+", 502)
    assert client.update_endpoint(ep.id, state="STOPPED").state == "STOPPING"
    client.delete_endpoint(ep.id)
    assert len(sleeps) == 2
    assert sim.endpoints == {}


def test_create_is_not_retried_on_500_and_is_ambiguous(
    sim: TogetherSimulator, client: TogetherClient, sleeps: list[float]
) -> None:
    sim.inject("POST", r"/v1/endpoints", 500, after_commit=True)
    with pytest.raises(ProviderUnavailable) as caught:
        client.create_endpoint(SPEC)
    assert caught.value.ambiguous is True
    assert caught.value.status == 500
    assert sleeps == []
    assert count(sim, "POST", "/v1/endpoints") == 1
    assert len(sim.endpoints) == 1  # it did happen: the domain must look before launching again


def test_create_is_retried_on_429(
    sim: TogetherSimulator, client: TogetherClient, sleeps: list[float]
) -> None:
    sim.inject("POST", r"/v1/endpoints", 429, retry_after=1)
    assert client.create_endpoint(SPEC).state == "PENDING"
    assert sleeps == [1.0]
    assert len(sim.endpoints) == 1


def test_create_is_retried_when_the_connection_was_refused(sleeps: list[float]) -> None:
    attempts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json=ENDPOINT)

    assert mock_client(handler, sleeps).create_endpoint(SPEC).id == ENDPOINT_ID
    assert len(attempts) == 2 and len(sleeps) == 1


def test_create_read_timeout_is_ambiguous_and_not_retried(
    sim: TogetherSimulator, sim_server: SimulatorServer, sleeps: list[float]
) -> None:
    sim.inject("POST", r"/v1/endpoints", 200, delay=0.5)
    with (
        TogetherClient(sim_server.url, KEY, timeout=0.1, sleep=sleeps.append) as client,
        pytest.raises(ProviderUnavailable) as caught,
    ):
        client.create_endpoint(SPEC)
    assert caught.value.ambiguous is True
    assert caught.value.status is None
    assert sleeps == []
    assert count(sim, "POST", "/v1/endpoints") == 1


def test_get_read_timeout_is_retried(
    sim: TogetherSimulator, sim_server: SimulatorServer, sleeps: list[float]
) -> None:
    sim.inject("GET", r"/v1/hardware", 200, delay=0.5)
    with TogetherClient(sim_server.url, KEY, timeout=0.1, sleep=sleeps.append) as client:
        assert client.list_hardware()
    assert len(sleeps) == 1
    assert count(sim, "GET", "/v1/hardware") == 2


def test_connection_refused_is_unavailable_after_retries(sleeps: list[float]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket is closed
    with (
        TogetherClient(f"http://127.0.0.1:{port}", KEY, max_retries=2, sleep=sleeps.append) as client,
        pytest.raises(ProviderUnavailable) as caught,
    ):
        client.list_endpoints()
    assert caught.value.status is None
    assert caught.value.ambiguous is False
    assert len(sleeps) == 2


def test_client_errors_are_not_retried(
    sim: TogetherSimulator, client: TogetherClient, sleeps: list[float]
) -> None:
    with pytest.raises(ProviderNotFound):
        client.get_endpoint("endpoint-missing")
    with pytest.raises(ProviderBadRequest):
        client.create_endpoint(LaunchSpec(model="Qwen/QwQ-32B", hardware="", min_replicas=1, max_replicas=1))
    assert sleeps == []
    assert len(sim.requests) == 2


# --- the key stays secret ----------------------------------------------------------------------


def test_the_key_never_appears_in_errors_repr_or_logs(
    sim: TogetherSimulator, sim_server: SimulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[ProviderError] = []
    with TogetherClient(sim_server.url, KEY, timeout=0.1, max_retries=1, sleep=lambda _: None) as client:
        assert KEY not in repr(client) and KEY not in str(client)
        sim.inject("GET", r"/v1/endpoints", 503, times=5)
        sim.inject("POST", r"/v1/endpoints", 500)
        sim.inject("GET", r"/v1/hardware", 200, delay=0.5, times=2)
        for call in (client.list_endpoints, lambda: client.create_endpoint(SPEC), client.list_hardware):
            with pytest.raises(ProviderError) as caught:
                call()
            errors.append(caught.value)
    with TogetherClient(sim_server.url, KEY + "-wrong") as wrong, pytest.raises(ProviderAuthError) as caught:
        wrong.get_endpoint("endpoint-x")
    errors.append(caught.value)

    assert len(errors) == 4
    for exc in errors:
        assert KEY not in str(exc) and KEY not in repr(exc)
    assert any("retry" in record.getMessage() for record in caplog.records)
    assert KEY not in caplog.text


def test_an_echoed_key_is_scrubbed_from_messages() -> None:
    client = mock_client(lambda request: error_response(400, f"bad key {KEY} here"), max_retries=0)
    with pytest.raises(ProviderBadRequest) as caught:
        client.list_hardware()
    assert KEY not in str(caught.value)
    assert json.dumps(caught.value.extra).find(KEY) == -1
