"""Every state either Together API reports is in exactly one of the domain's groups: a new state taught to
the simulator (from Together's docs) that the bot does not place fails here."""

from __future__ import annotations

import pytest

from bot.domain.states import COMING_UP, FAILED, GOING_DOWN, SERVING, STOPPED
from bot.simulator.v1.api import STATES as V1_STATES
from bot.simulator.v2.state import V2_STATES

GROUPS = {
    "coming up": COMING_UP,
    "serving": SERVING,
    "going down": GOING_DOWN,
    "stopped": STOPPED,
    "failed": FAILED,
}


@pytest.mark.parametrize("state", sorted(V1_STATES | V2_STATES))
def test_every_reported_state_is_in_exactly_one_group(state: str) -> None:
    groups = [name for name, members in GROUPS.items() if state in members]
    assert len(groups) == 1, f"{state} is in {groups or 'no group'}"
