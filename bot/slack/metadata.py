"""Typed metadata carried in `private_metadata` and button values: serialised once, parsed once."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Meta(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def dump(self) -> str:
        return self.model_dump_json(exclude_none=True)


class LaunchFormMeta(_Meta):
    """Where the /endpoint command was typed, so the card goes to that channel."""

    channel_id: str
    team_id: str


class RequestRef(_Meta):
    """A launch request, in a button value or a decision modal."""

    request_id: int
    channel_id: str | None = None
    message_ts: str | None = None
    home: bool = False  # clicked in the App Home tab, which is re-rendered after the decision


class EndpointActionMeta(_Meta):
    """A stop or delete waiting for confirmation, and where to answer the person who asked."""

    endpoint_id: str
    act: str  # bot.domain.policy.access.Act value
    user_id: str | None = None  # who typed the command (the response_url answers them)
    channel_id: str | None = None
    response_url: str | None = None


class EndpointRef(_Meta):
    """An endpoint, in the value of a reminder's buttons."""

    endpoint_id: str
