"""The v2 catalogue of models for dedicated deployments, read once and reused for a while.

`GET /v2/supported-models?product=PRODUCT_DEDICATED` is read whole (all pages) and kept for `ttl` seconds;
a failed refresh keeps the catalogue it had. It also maps model resource names (`projects/p/models/ml`)
back to the catalogue's `org/Model` names that the bot shows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.provider import ProviderError, ProviderNotFound
from bot.together.v2.mapping import find_model, unrevisioned
from bot.together.v2.models import SupportedModel

CATALOGUE_TTL = 600.0  # seconds the supported-models catalogue is reused


@dataclass(frozen=True)
class _Listing:
    models: list[SupportedModel]
    names_by_path: dict[str, str]  # `projects/p/models/ml` -> `org/Model-Name`
    fetched_at: float


class Catalogue:
    """The supported models, fetched by `fetch` (every page) and cached; thread-safe."""

    def __init__(
        self,
        fetch: Callable[[], list[SupportedModel]],
        *,
        ttl: float = CATALOGUE_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._monotonic = monotonic
        self._cached: _Listing | None = None
        self._lock = threading.Lock()

    def models(self, *, refresh: bool = False) -> list[SupportedModel]:
        return self._listing(refresh=refresh).models

    def model(self, wanted: str) -> SupportedModel:
        """The catalogue's entry for a model (read afresh once if it is missing); ProviderNotFound if none."""
        for refresh in (False, True):
            listing = self._listing(refresh=refresh)
            found = find_model(listing.models, wanted)
            if found is not None:
                return found
            if self._monotonic() - listing.fetched_at < 1.0:
                break  # just fetched: asking again would not help
        raise ProviderNotFound(
            message=f"Model {wanted} is not in Together's v2 catalogue of models for dedicated deployments.",
            code="model_not_found",
        )

    def model_name(self, resource: str) -> str:
        """`projects/p/models/ml/revisions/rv` -> the catalogue's `org/Model`; the resource name if unknown."""
        if not resource:
            return ""
        return self._listing().names_by_path.get(unrevisioned(resource), resource)

    def _listing(self, *, refresh: bool = False) -> _Listing:
        with self._lock:
            cached = self._cached
            now = self._monotonic()
            if cached is not None and not refresh and now - cached.fetched_at < self._ttl:
                return cached
            try:
                models = self._fetch()
            except ProviderError:
                if cached is not None:  # better a catalogue a little old than no tracking at all
                    return cached
                raise
            names: dict[str, str] = {}
            for entry in models:
                for path in [entry.base_model] + [p.model for p in entry.deployment_profiles]:
                    if path:
                        names.setdefault(unrevisioned(path), entry.name)
            self._cached = _Listing(models, names, now)
            return self._cached
