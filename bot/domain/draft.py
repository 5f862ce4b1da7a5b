"""A launch draft as far as it is known, and the limits on its parts that hold whatever the policy says.

`/endpoint create` fills what was typed; the launch form holds what is chosen so far; both are a
`PartialDraft`, made complete (a `LaunchDraft`) when the form is submitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from bot.domain.errors import InvalidReplicas, UserError
from bot.domain.model import LaunchDraft

MAX_REPLICAS = 64
MAX_TIMEOUT_MINUTES = 7 * 24 * 60
MAX_DISPLAY_NAME = 100
DEFAULT_INACTIVE_TIMEOUT = 60  # minutes; Together's documented default

REPLICAS_HINT = f"Replicas look like `2-5` (at least 2, at most 5) or `3` (exactly 3), with 1 ≤ min ≤ max ≤ {MAX_REPLICAS}."


@dataclass
class PartialDraft:
    """What is known of a launch so far; None where nothing was typed or chosen yet."""

    model: str | None = None
    hardware: str | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    display_name: str | None = None
    inactive_timeout: int | None = None
    speculative_decoding: bool = True
    prompt_cache: bool = True
    start_now: bool = True

    @classmethod
    def prefilled(cls, typed: PartialDraft, default_timeout: int) -> Self:
        """What was typed, as the form opens with it (auto-stop: `default_timeout` when not typed)."""
        return cls(
            model=typed.model,
            hardware=typed.hardware,
            min_replicas=typed.min_replicas,
            max_replicas=typed.max_replicas,
            display_name=typed.display_name,
            inactive_timeout=typed.inactive_timeout
            if typed.inactive_timeout is not None
            else default_timeout,
        )

    def complete(self) -> LaunchDraft:
        """A complete draft, or a UserError naming the first missing field."""
        if not self.model:
            raise UserError("Choose a model.", field="model")
        if not self.hardware:
            raise UserError("Choose the hardware.", field="hardware")
        if self.min_replicas is None:
            raise UserError("Give the minimum number of replicas (at least 1).", field="min_replicas")
        if self.max_replicas is None:
            raise UserError("Give the maximum number of replicas.", field="max_replicas")
        return LaunchDraft(
            model=self.model,
            hardware=self.hardware,
            min_replicas=self.min_replicas,
            max_replicas=self.max_replicas,
            display_name=self.display_name,
            inactive_timeout=self.inactive_timeout,
            speculative_decoding=self.speculative_decoding,
            prompt_cache=self.prompt_cache,
            start_now=self.start_now,
        )


def check_replicas(low: int, high: int, *, shown: str | None = None) -> None:
    what = f"`{shown}`" if shown else f"{low}-{high}"
    if low < 1:
        raise InvalidReplicas(f"{what}: at least one replica must run. {REPLICAS_HINT}", field="min_replicas")
    if low > high:
        raise InvalidReplicas(
            f"{what}: the minimum ({low}) is larger than the maximum ({high}); did you mean `{high}-{low}`? "
            + REPLICAS_HINT,
            field="max_replicas",
        )
    if high > MAX_REPLICAS:
        raise InvalidReplicas(
            f"{what}: at most {MAX_REPLICAS} replicas. {REPLICAS_HINT}", field="max_replicas"
        )


def check_shape(draft: LaunchDraft) -> None:
    """The limits on a complete draft's parts that hold whatever the policy says; a UserError names the
    field at fault."""
    check_replicas(draft.min_replicas, draft.max_replicas)
    if draft.inactive_timeout is not None and not 0 <= draft.inactive_timeout <= MAX_TIMEOUT_MINUTES:
        raise UserError(
            f"Auto-stop is a number of idle minutes from 0 (never stop) to {MAX_TIMEOUT_MINUTES} (a week); "
            f"{draft.inactive_timeout} is out of range.",
            field="inactive_timeout",
        )
    if draft.display_name is not None and len(draft.display_name) > MAX_DISPLAY_NAME:
        raise UserError(
            f"A display name has at most {MAX_DISPLAY_NAME} characters; this one has "
            f"{len(draft.display_name)}. Shorten it.",
            field="display_name",
        )
