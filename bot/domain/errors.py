"""Errors a person caused and can fix. The Slack layer shows their message as is."""

from __future__ import annotations


class UserError(Exception):
    """A message for the person who acted: what went wrong and what to do instead."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # which form field it concerns, when it came from a form


class UsageError(UserError):
    """The command could not be understood."""


class UnknownModel(UserError):
    pass


class UnknownHardware(UserError):
    pass


class HardwareDoesNotFit(UserError):
    pass


class InvalidReplicas(UserError):
    pass


class NotAllowed(UserError):
    """The person may not do this (not an approver, or approving their own request)."""


class AlreadyDecided(UserError):
    """Someone else got there first; nothing was done twice."""


class RequestExpired(AlreadyDecided):
    """Nobody decided within the policy's `expire_after`; an approval now does nothing."""


class PolicyLimit(UserError):
    """The launch (or scale) is over a limit of the policy: the message states it and what is allowed."""


class NotFound(UserError):
    pass


class ProviderUnreachable(UserError):
    """Together could not be asked right now (a lookup, not a launch)."""
