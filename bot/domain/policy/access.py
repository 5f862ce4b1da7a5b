"""Who may do what to a running endpoint. Plain rules on Slack user ids; no Slack, no HTTP."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.domain.errors import NotAllowed
from bot.domain.text import mention


class Act(enum.StrEnum):
    """Things people do to an endpoint after launch."""

    STOP = "stop"
    START = "start"
    SCALE = "scale"
    RENAME = "rename"
    TIMEOUT = "timeout"
    DELETE = "delete"

    @property
    def verb(self) -> str:
        """How a refusal names the act: "Only … can {verb} it"."""
        return "change the auto-stop of" if self is Act.TIMEOUT else self.value


# Acts the person who asked for the launch may do themselves; the rest need an approver or an admin.
REQUESTER_ACTS = frozenset({Act.STOP, Act.START, Act.SCALE, Act.RENAME, Act.TIMEOUT})


@dataclass(frozen=True)
class Policy:
    approvers: frozenset[str]
    admins: frozenset[str] = frozenset()

    def is_privileged(self, user_id: str) -> bool:
        """Approvers and admins may act on every endpoint."""
        return user_id in self.approvers or user_id in self.admins

    def may(self, user_id: str, act: Act, requested_by: str | None) -> bool:
        if self.is_privileged(user_id):
            return True
        return act in REQUESTER_ACTS and requested_by is not None and user_id == requested_by

    def ensure(self, user_id: str, act: Act, requested_by: str | None, what: str) -> None:
        """Raise NotAllowed saying who can, unless `user_id` may do `act` to `what`."""
        if self.may(user_id, act, requested_by):
            return
        groups = []
        if act in REQUESTER_ACTS and requested_by:
            groups.append(f"the person who asked for it ({mention(requested_by)})")
        if self.approvers:
            groups.append("approvers (" + ", ".join(mention(u) for u in sorted(self.approvers)) + ")")
        if self.admins:
            groups.append("admins (" + ", ".join(mention(u) for u in sorted(self.admins)) + ")")
        if not groups:
            raise NotAllowed(
                f"Nobody can {act.verb} {what} yet: no approvers or admins are configured. "
                "Whoever runs the bot sets BOT_APPROVERS or BOT_ADMINS to Slack user ids."
            )
        who = groups[0] if len(groups) == 1 else ", ".join(groups[:-1]) + " or " + groups[-1]
        raise NotAllowed(f"Only {who} can {act.verb} {what}.")

    def commands_for(self, user_id: str) -> list[str]:
        """The commands `user_id` may use, in help order. Requester acts apply to their own endpoints."""
        names = ["create", "list", "status", "stop", "start", "scale", "rename", "timeout"]
        if self.is_privileged(user_id):
            names.append("delete")
        return names + ["hardware", "history", "spend", "help"]
