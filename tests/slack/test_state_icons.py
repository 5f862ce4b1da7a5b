"""Every state either Together API reports, and the bot's own DELETED, has its icon on cards and lists."""

from __future__ import annotations

import pytest

from bot.domain.states import GONE
from bot.simulator.v1.api import STATES as V1_STATES
from bot.simulator.v2.state import V2_STATES
from bot.slack.views.blocks import STATE_ICONS


@pytest.mark.parametrize("state", sorted(V1_STATES | V2_STATES | {GONE}))
def test_every_state_has_an_icon(state: str) -> None:
    assert state in STATE_ICONS
