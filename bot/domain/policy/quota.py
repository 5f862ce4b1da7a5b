"""How many endpoints may run at once, per person and in all ([limits] in the policy file).

"Running" is what Together bills or is about to: an endpoint launched through the bot, not deleted, in a
state that comes up or serves, and a request approved but not launched yet. Stopped endpoints do not
count, so stopping one makes room.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.errors import UserError
from bot.domain.model import LaunchRequest, RequestStatus
from bot.domain.policy.tiers import Limits
from bot.domain.states import billed
from bot.domain.text import mention, plural
from bot.store import Store


class TooManyRunning(UserError):
    """A running-endpoint limit is reached: stop or delete one first."""


def running(request: LaunchRequest) -> bool:
    if request.status in (RequestStatus.APPROVED, RequestStatus.LAUNCHING):
        return True
    e = request.endpoint
    return (
        request.status is RequestStatus.LAUNCHED
        and e is not None
        and e.deleted_at is None
        and billed(e.state)
    )


class QuotaCheck:
    def __init__(self, limits: Limits, store: Store, name_of: Callable[[LaunchRequest], str]) -> None:
        self.limits = limits
        self.store = store
        self.name_of = name_of  # how people call a launch's endpoint (its display name)

    def ensure_room(self, user_id: str, *, doing: str = "A new launch can't be asked for") -> None:
        """Raise TooManyRunning when one more running endpoint for `user_id` would break a limit."""
        per_person, in_all = self.limits.max_running_per_person, self.limits.max_running_total
        if per_person is None and in_all is None:
            return
        active = self.store.requests(
            statuses=[RequestStatus.APPROVED, RequestStatus.LAUNCHING, RequestStatus.LAUNCHED]
        )
        now_running = [r for r in active if running(r)]
        mine = [r for r in now_running if r.requested_by == user_id]
        if per_person is not None and len(mine) >= per_person:
            raise TooManyRunning(
                f"{mention(user_id)} already has {plural(len(mine), 'endpoint')} running or starting "
                f"({self._names(mine)}), the most the policy allows a person (max_running_per_person = "
                f"{per_person}). {doing} until one is stopped or deleted (`/endpoint stop <endpoint>`)."
            )
        if in_all is not None and len(now_running) >= in_all:
            raise TooManyRunning(
                f"{plural(len(now_running), 'endpoint')} launched through the bot are running or starting, the "
                f"most the policy allows (max_running_total = {in_all}). {doing} until one is stopped or "
                "deleted; `/endpoint list` shows them."
            )

    def _names(self, requests: list[LaunchRequest]) -> str:
        shown = [f"`{self.name_of(r)}`" for r in requests[:5]]
        return ", ".join(shown) + (", …" if len(requests) > 5 else "")
