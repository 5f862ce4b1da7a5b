"""Every model a person can pick in the launch form, searched from memory.

The aliases of the catalogue come first, then the backend's whole catalogue of models that run on dedicated
endpoints, as last listed. Slack gives a type-ahead search three seconds, so a search never asks Together:
the listing is refreshed on a schedule (the catalogue refresh loop) and, when a search finds it missing or
old, on demand in the background.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.catalog import MAX_MODEL_ID, Catalog
from bot.domain.provider import EndpointProvider, ProviderError

log = logging.getLogger(__name__)

MAX_CHOICES = 100  # Slack shows at most 100 options in a select menu
LISTING_FRESH_SECONDS = 900.0  # a listing older than this is refreshed when a search comes


@dataclass(frozen=True)
class ModelChoice:
    model: str  # the Together model id
    alias: str | None = None  # the catalogue's short name for it, if any
    as_typed: bool = False  # not in any listing: offered because the person typed a full id


class ModelDirectory:
    """The aliases and the backend's dedicated catalogue, searched without a call to Together."""

    def __init__(
        self,
        catalog: Catalog,
        provider: EndpointProvider,
        *,
        on_stale: Callable[[], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.catalog = catalog
        self.provider = provider
        self._monotonic = monotonic
        # What to do when a search finds the listing old: by default a refresh on a thread of its own; the
        # bot kicks its catalogue refresh loop instead.
        self._on_stale = on_stale or self._refresh_in_background
        self._listed: tuple[str, ...] = ()
        self._listed_at: float | None = None
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()

    @property
    def listed(self) -> tuple[str, ...]:
        """The backend's dedicated models as last listed (empty until the first listing)."""
        with self._lock:
            return self._listed

    def refresh(self) -> int:
        """List the backend's dedicated models again; returns how many. A failure keeps the last listing."""
        with self._refreshing:
            try:
                models = self.provider.list_models()
            except ProviderError as exc:
                log.warning("could not list Together's dedicated models; keeping the last listing: %s", exc)
                return len(self.listed)
            listed = tuple(sorted({m for m in models if m and len(m) <= MAX_MODEL_ID}, key=str.lower))
            with self._lock:
                self._listed, self._listed_at = listed, self._monotonic()
            return len(listed)

    def _stale(self) -> bool:
        with self._lock:
            at = self._listed_at
        return at is None or self._monotonic() - at > LISTING_FRESH_SECONDS

    def _refresh_in_background(self) -> None:
        if self._refreshing.locked():
            return
        threading.Thread(target=self.refresh, name="model-listing", daemon=True).start()

    def search(self, query: str, limit: int = MAX_CHOICES) -> list[ModelChoice]:
        """The models whose alias or id contains every word of `query`, best matches first; an empty query
        lists the aliases, then the rest. A full id (`org/Model`) that no listing has is offered as typed."""
        if self._stale():
            self._on_stale()
        typed = query.strip()
        words = typed.lower().split()
        aliases = sorted(self.catalog.models.items())
        aliased = {model for _, model in aliases}
        choices = [ModelChoice(model, alias) for alias, model in aliases if len(model) <= MAX_MODEL_ID]
        choices += [ModelChoice(model) for model in self.listed if model not in aliased]
        found = [c for c in choices if all(w in _haystack(c) for w in words)]
        found.sort(key=lambda c: _rank(c, typed.lower()))
        full_id = "/" in typed and " " not in typed and len(typed) <= MAX_MODEL_ID
        if full_id and not any(c.model == typed for c in found):
            found.insert(0, ModelChoice(typed, as_typed=True))
        return found[:limit]


def _haystack(choice: ModelChoice) -> str:
    return f"{choice.alias or ''} {choice.model}".lower()


def _rank(choice: ModelChoice, query: str) -> int:
    """0 the alias typed exactly, 1 an alias that starts so, 2 an id (or its name) that does, 3 the rest."""
    if not query:
        return 0 if choice.alias else 1
    alias = (choice.alias or "").lower()
    model = choice.model.lower()
    if alias == query or model == query:
        return 0
    if alias.startswith(query):
        return 1
    if model.startswith(query) or model.rsplit("/", 1)[-1].startswith(query):
        return 2
    return 3
