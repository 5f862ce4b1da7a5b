"""Running endpoints as the bot shows them: records, the errors of acting on them, and how a name
people type finds one. Plain Python; LifecycleService (lifecycle.py) produces these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.domain.cost.estimate import CostEstimate
from bot.domain.cost.meter import Meter
from bot.domain.cost.spend_views import MonthSpend
from bot.domain.errors import UserError
from bot.domain.model import EndpointRecord, LaunchDraft, LaunchRequest
from bot.domain.policy.access import Act
from bot.domain.provider import EndpointInfo, ProviderError
from bot.domain.states import billed

TOGETHER_DEFAULT_TIMEOUT = 60  # minutes of idleness before auto-stop, when the launch did not say


class Ambiguous(UserError):
    """A reference that matches more than one endpoint."""

    def __init__(self, message: str, candidates: list[Managed]) -> None:
        super().__init__(message)
        self.candidates = candidates


class StateForbids(UserError):
    """The endpoint's state rules the act out; nothing was sent to Together."""


class ActionRefused(UserError):
    """Together refused (or failed) the act. Recorded, and replied in the endpoint's thread."""

    def __init__(self, act: Act, label: str, error: ProviderError, hint: str) -> None:
        self.act = act
        self.label = label
        self.status = error.status
        self.code = error.code or error.type
        self.provider_message = error.message
        self.hint = hint
        where = f"HTTP {error.status}" if error.status else "no answer"
        tag = f", {self.code}" if self.code else ""
        super().__init__(f"Together did not {act.verb} {label} ({where}{tag}): {error.message}\n{hint}")


@dataclass(frozen=True)
class Managed:
    """An endpoint launched through the bot, with its settings as they stand now."""

    request: LaunchRequest
    endpoint: EndpointRecord
    display_name: str
    min_replicas: int
    max_replicas: int
    inactive_timeout: int | None  # None: Together's default

    @property
    def id(self) -> str:
        return self.endpoint.id

    @property
    def name(self) -> str:
        return self.endpoint.name

    @property
    def state(self) -> str:
        return self.endpoint.state

    @property
    def requested_by(self) -> str:
        return self.request.requested_by

    @property
    def label(self) -> str:
        return quoted(self.display_name)

    @property
    def cost(self) -> CostEstimate:
        return CostEstimate(self.request.cents_per_minute, self.min_replicas, self.max_replicas)

    @property
    def running(self) -> bool:
        """Billed now, or about to be (Together bills from STARTED; PENDING/STARTING lead there)."""
        return billed(self.state)

    def refs(self) -> list[str]:
        """What a person may type to mean this endpoint."""
        short = self.name.split("/", 1)[1] if "/" in self.name else self.name
        return [self.id, self.name, short, self.display_name]


@dataclass(frozen=True)
class Outcome:
    act: Act
    before: Managed
    after: Managed
    state: str  # the state in Together's answer


@dataclass(frozen=True)
class Listing:
    endpoints: list[Managed]
    others: list[EndpointInfo] | None  # the account's endpoints not launched through the bot (`list all`)
    spent: dict[str, Meter] = field(default_factory=dict)  # running-cost meters by endpoint id


@dataclass(frozen=True)
class Status:
    info: EndpointInfo  # fresh from Together
    managed: Managed | None  # None: not launched through the bot
    spent: Meter | None = None  # its running-cost meter (None: not launched through the bot)


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str
    request_id: int | None
    endpoint_id: str | None
    label: str  # the endpoint's display name, or "request #N" before there is one
    detail: dict[str, Any]


@dataclass(frozen=True)
class Home:
    mine: list[Managed]
    waiting: list[LaunchRequest]  # pending requests this person may approve
    asked: list[LaunchRequest]  # this person's own requests still waiting
    spent: dict[str, Meter] = field(default_factory=dict)  # running-cost meters of `mine`, by endpoint id
    month: MonthSpend | None = None  # this month's spending against the budgets


def current_draft(request: LaunchRequest) -> LaunchDraft:
    """The request's draft with the settings changed since launch, for the card."""
    d, e = request.draft, request.endpoint
    if e is None:
        return d
    return replace(
        d,
        display_name=e.display_name or d.display_name,
        min_replicas=e.min_replicas if e.min_replicas is not None else d.min_replicas,
        max_replicas=e.max_replicas if e.max_replicas is not None else d.max_replicas,
        inactive_timeout=e.inactive_timeout if e.inactive_timeout is not None else d.inactive_timeout,
    )


def quoted(text: str) -> str:
    """Text people typed, as inline code in a message: it cannot end the code or mention anyone."""
    clean = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
    return f"`{clean}`"


def match_refs(word: str, items: list[Any], keys: Callable[[Any], list[str]]) -> list[Any]:
    """Exact matches if any (case-sensitive, then not), else prefix matches (case-insensitive)."""
    exact = [i for i in items if word in keys(i)]
    if exact:
        return exact
    lower = word.lower()
    exact = [i for i in items if lower in (k.lower() for k in keys(i))]
    if exact:
        return exact
    return [i for i in items if any(k.lower().startswith(lower) for k in keys(i))]


def history_entry(event: dict[str, Any], labels: dict[int, str]) -> HistoryEntry:
    request_id = event.get("request_id")
    label = labels.get(request_id, f"request #{request_id}") if request_id is not None else "-"
    return HistoryEntry(
        at=event["at"],
        actor=event["actor"],
        action=event["action"],
        request_id=request_id,
        endpoint_id=event.get("endpoint_id"),
        label=label,
        detail=dict(event.get("detail") or {}),
    )
