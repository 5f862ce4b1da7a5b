"""The hardware that can run a model, from Together, kept in memory for a few minutes.

`/endpoint create` and the launch form must answer within Slack's three seconds; Together may take
longer, so the catalogue's models are looked up ahead of time (`warm`) and answered from memory.
"""

from __future__ import annotations

import logging
import threading

from bot.domain.catalog import Catalog, describe_hardware
from bot.domain.clock import Clock
from bot.domain.cost.estimate import format_dollars
from bot.domain.errors import HardwareDoesNotFit, ProviderUnreachable, UnknownModel, UserError
from bot.domain.provider import EndpointProvider, HardwareOption, ProviderError, ProviderNotFound

log = logging.getLogger(__name__)

HARDWARE_CACHE_SECONDS = 300.0


class HardwareLookup:
    def __init__(self, provider: EndpointProvider, catalog: Catalog, clock: Clock) -> None:
        self.provider = provider
        self.catalog = catalog
        self.clock = clock  # its monotonic time says when a list is too old
        self._cache: dict[str, tuple[float, list[HardwareOption]]] = {}
        self._lock = threading.Lock()

    def hardware_for(self, model: str) -> list[HardwareOption]:
        """Hardware that fits `model`, cheapest first. Cached for a few minutes."""
        now = self.clock.monotonic()
        with self._lock:
            cached = self._cache.get(model)
        if cached and cached[0] > now:
            return cached[1]
        try:
            options = self.provider.list_hardware(model)
        except ProviderNotFound:
            raise UnknownModel(
                f"Together has no dedicated hardware for the model `{model}`: it is unknown or cannot run on a "
                "dedicated endpoint. Check the id, or use an alias (`/endpoint help`).",
                field="model",
            ) from None
        except ProviderError as exc:
            raise ProviderUnreachable(
                f"I couldn't get the hardware list from Together ({exc}). Try again shortly."
            ) from exc
        if not options:
            raise UnknownModel(f"Together lists no hardware that can run `{model}`.", field="model")
        options = sorted(options, key=lambda h: (h.cents_per_minute, h.id))
        with self._lock:
            self._cache[model] = (now + HARDWARE_CACHE_SECONDS, options)
        return options

    def warm(self) -> int:
        """Look up the hardware of every catalogue model ahead of time, so `/endpoint create` answers from
        memory within Slack's three seconds. Returns how many models were refreshed."""
        refreshed = 0
        for model in sorted(set(self.catalog.models.values())):
            with self._lock:
                self._cache.pop(model, None)
            try:
                self.hardware_for(model)
                refreshed += 1
            except UserError as exc:
                log.info("hardware for %s not cached: %s", model, exc.message.splitlines()[0])
        return refreshed

    def cached(self, model: str) -> list[HardwareOption] | None:
        """The hardware that fits `model` if it is at hand (looked up in the last few minutes), else None.
        Never asks Together."""
        with self._lock:
            cached = self._cache.get(model)
        return cached[1] if cached and cached[0] > self.clock.monotonic() else None

    def check_fit(self, model: str, hardware: str) -> HardwareOption:
        """The option for `hardware` if it can run `model`; else HardwareDoesNotFit listing what can."""
        options = self.hardware_for(model)
        for option in options:
            if option.id == hardware:
                return option
        listing = "\n".join(
            f"• `{h.id}` ({describe_hardware(h.id)}) {format_dollars(h.dollars_per_hour)}/h per replica"
            + (f", {h.availability}" if h.availability and h.availability != "available" else "")
            for h in options
        )
        raise HardwareDoesNotFit(
            f"`{hardware}` can't run `{model}`. Hardware that fits, cheapest first:\n{listing}",
            field="hardware",
        )
