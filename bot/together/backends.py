"""Choosing the Together API the bot speaks: `TOGETHER_API=v1|v2|auto` (issue 6).

`auto` picks v2 when a project is known, from `TOGETHER_PROJECT_ID` or from `GET /v3/whoami` naming the
key's project (a `project_api_key`), and v1 otherwise. A whoami that Together refuses (401/403/404: an
older account or key) means v1; one that cannot be had at all (5xx, timeouts) is raised, since guessing
would silently pick the wrong API.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from bot.config import ConfigError
from bot.domain.provider import EndpointProvider, ProviderError, ProviderRateLimited, ProviderUnavailable
from bot.together.http import TogetherHttp, root_url_of
from bot.together.v1.client import TogetherClient
from bot.together.v2.client import TogetherV2Client
from bot.together.v2.models import Whoami

log = logging.getLogger(__name__)

APIS = ("v1", "v2", "auto")


def make_provider(
    api: str,
    base_url: str,
    api_key: str,
    project_id: str | None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> EndpointProvider:
    """The client for `api`; v2 and auto may ask `GET /v3/whoami` for the key's project."""
    choice = api.strip().lower()
    if choice not in APIS:
        raise ConfigError(f"TOGETHER_API must be one of v1, v2, auto (got {api!r}).")
    project = (project_id or "").strip() or None
    if choice == "v1":
        return TogetherClient(base_url, api_key, sleep=sleep, transport=transport)
    if project is None:
        project = _project_of_key(
            base_url, api_key, sleep=sleep, transport=transport, required=choice == "v2"
        )
    if project is None:
        log.info("Together API: v1 (no project known for this key; set TOGETHER_PROJECT_ID for v2)")
        return TogetherClient(base_url, api_key, sleep=sleep, transport=transport)
    log.info("Together API: v2, project %s", project)
    return TogetherV2Client(base_url, api_key, project, sleep=sleep, transport=transport)


def fetch_whoami(
    base_url: str,
    api_key: str,
    *,
    timeout: float = 10.0,
    max_retries: int = 2,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> Whoami:
    """`GET /v3/whoami`: which key this is and, for a project key, its project."""
    http = TogetherHttp(
        root_url_of(base_url),
        api_key,
        timeout=timeout,
        max_retries=max_retries,
        backoff_base=0.5,
        backoff_cap=4.0,
        sleep=sleep,
        transport=transport,
        logger=log,
    )
    try:
        response = http.send("GET", "/v3/whoami")
        return http.parse(Whoami, http.json(response), response)
    finally:
        http.close()


def _project_of_key(
    base_url: str,
    api_key: str,
    *,
    sleep: Callable[[float], None],
    transport: httpx.BaseTransport | None,
    required: bool,
) -> str | None:
    try:
        whoami = fetch_whoami(base_url, api_key, sleep=sleep, transport=transport)
    except (ProviderUnavailable, ProviderRateLimited) as exc:
        raise ConfigError(
            f"Could not ask Together which project the API key belongs to (GET /v3/whoami: {exc}). "
            "Set TOGETHER_PROJECT_ID, or TOGETHER_API=v1, or try again once Together answers."
        ) from exc
    except ProviderError as exc:
        if required:
            raise ConfigError(
                f"TOGETHER_API=v2 needs a project, and Together would not say which (GET /v3/whoami: {exc}). "
                "Set TOGETHER_PROJECT_ID."
            ) from exc
        log.info("GET /v3/whoami was refused (%s); using v1", exc)
        return None
    if whoami.type == "project_api_key" and whoami.project is not None and whoami.project.id:
        return whoami.project.id
    if required:
        raise ConfigError(
            f"TOGETHER_API=v2 needs a project, and this API key is a {whoami.type or 'key'} without one. "
            "Set TOGETHER_PROJECT_ID (Together's console shows it), or use a project API key."
        )
    return None
