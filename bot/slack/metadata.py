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
