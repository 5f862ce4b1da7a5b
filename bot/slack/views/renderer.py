"""The renderer: holds what the pure view functions need from the bot's settings, and calls them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain.catalog import Catalog
from bot.domain.cost.meter import Meter
from bot.domain.events import Event
from bot.domain.model import LaunchRequest
from bot.domain.policy.budget import BudgetUse
from bot.domain.policy.tiers import LaunchPolicy
from bot.slack.metadata import RequestRef
from bot.slack.views import decisions, thread
from bot.slack.views.card import launch_card
from bot.slack.views.changes import change_card


@dataclass(frozen=True)
class Renderer:
    """Turns requests and events into Slack messages. `inference_url` goes into the usage example (None:
    nothing lasting answers there, as in the shell); `simulated` marks every card and reply as such."""

    catalog: Catalog
    policy: LaunchPolicy
    inference_url: str | None = "https://api.together.xyz/v1"
    simulated: bool = False

    def card(self, request: LaunchRequest, spent: Meter | None = None) -> tuple[str, list[dict[str, Any]]]:
        """The request card; `spent` is the endpoint's running-cost meter, once it was launched."""
        if request.change_of is not None:
            return change_card(request, self.policy)
        return launch_card(
            request, catalog=self.catalog, policy=self.policy, spent=spent, simulated=self.simulated
        )

    def thread_reply(self, request: LaunchRequest, payload: dict[str, Any]) -> str:
        return self.thread_message(request, thread.read_event(payload))[0]

    def thread_message(
        self, request: LaunchRequest, event: Event | None
    ) -> tuple[str, list[dict[str, Any]] | None]:
        """A reply's text, and its blocks when it needs more than text (None: unreadable, said generically)."""
        text = thread.thread_text(
            request, event, catalog=self.catalog, inference_url=self.inference_url, simulated=self.simulated
        )
        return text, thread.thread_blocks(event, text)

    def approve_modal(
        self, request: LaunchRequest, ref: RequestRef, budget: list[BudgetUse] | None = None
    ) -> dict[str, Any]:
        return decisions.approve_modal(request, ref, self.policy, budget)

    def reject_modal(self, request: LaunchRequest, ref: RequestRef) -> dict[str, Any]:
        return decisions.reject_modal(request, ref)
