"""Endpoint states across Together's two APIs, spelled as each API spells them.

v1 reports an endpoint state (PENDING, STARTING, STARTED, STOPPING, STOPPED, ERROR, and FAILED seen in
lists); v2 reports its deployment's state (PROVISIONING, READY, SCALING, DEGRADED, STOPPING, STOPPED,
FAILED). The bot shows them as they are and reasons about them through these groups.
"""

from __future__ import annotations

COMING_UP = frozenset({"PENDING", "STARTING", "PROVISIONING"})
SERVING = frozenset({"STARTED", "READY", "DEGRADED", "SCALING"})
GOING_DOWN = frozenset({"STOPPING"})
STOPPED = frozenset({"STOPPED"})
FAILED = frozenset({"ERROR", "FAILED"})
GONE = "DELETED"  # our word for an endpoint Together no longer knows (neither API has such a state)
RETIRED = "RETIRED"  # our word for an endpoint the bot stopped following (a `bot shell` session ended)
# Between the last time the bot saw an endpoint serving and the moment it found it gone (or stopped
# following it): it may or may not have served then. The meter counts that time as a range from nothing.
UNSEEN = "UNSEEN"

# Nothing changes from these without someone acting (the tracker may poll slowly).
SETTLED = frozenset({"STARTED", "READY", "DEGRADED"}) | STOPPED | FAILED | {GONE}
# States whose reply should say why (the provider's explanation): not serving as asked.
EXPLAINED = frozenset({"DEGRADED"}) | FAILED
# The states in which the endpoint first answers inference calls.
READY_TO_SERVE = frozenset({"STARTED", "READY"})


def billed(state: str) -> bool:
    """Running or about to: replicas cost money (Together bills from the first running replica)."""
    return state in COMING_UP or state in SERVING


def forbids_start(state: str) -> str | None:
    """Why a start makes no sense in `state`, or None when it does."""
    if state in COMING_UP:
        return f"is already starting ({state})"
    if state in SERVING:
        return f"is already running ({state})"
    if state in GOING_DOWN:
        return "is still stopping; start it again once it is STOPPED"
    return None


def forbids_stop(state: str) -> str | None:
    if state in STOPPED:
        return "is already stopped"
    if state in GOING_DOWN:
        return "is already stopping"
    return None
