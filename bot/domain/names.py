"""What an endpoint is called, and the spec it is created with."""

from __future__ import annotations

from bot.domain.catalog import Catalog
from bot.domain.model import LaunchRequest
from bot.domain.provider import LaunchSpec


def default_display_name(request: LaunchRequest, catalog: Catalog) -> str:
    """`<alias>-r<request number>`: unique per request, so an endpoint whose create answer was lost can be
    recognised."""
    alias = catalog.alias_for(request.draft.model) or request.draft.model.rsplit("/", 1)[-1]
    return f"{alias}-r{request.id}"


def display_name(request: LaunchRequest, catalog: Catalog) -> str:
    """The endpoint's display name now: as renamed, else as asked, else the default."""
    renamed = request.endpoint.display_name if request.endpoint is not None else None
    return renamed or request.draft.display_name or default_display_name(request, catalog)


def launch_spec(request: LaunchRequest, catalog: Catalog) -> LaunchSpec:
    """What Together is asked to create for an approved request."""
    draft = request.draft
    return LaunchSpec(
        model=draft.model,
        hardware=draft.hardware,
        min_replicas=draft.min_replicas,
        max_replicas=draft.max_replicas,
        display_name=draft.display_name or default_display_name(request, catalog),
        inactive_timeout=draft.inactive_timeout,
        disable_prompt_cache=not draft.prompt_cache,
        disable_speculative_decoding=not draft.speculative_decoding,
        start=draft.start_now,
    )
