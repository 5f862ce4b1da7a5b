"""A launch is checked one way (bot.domain.checks.LaunchChecks), and each interaction runs each check once:
the budgets and the running quotas are read once for the command, once for the submission, once for the
Approve click and once for the approval."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from bot.slack.ids import Block
from tests.support.launching import launch_text
from tests.support.stack import APPROVER, REQUESTER, Stack


@pytest.fixture
def counted(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often the budgets and the quotas were checked since the last `clear()`."""
    calls: Counter[str] = Counter()
    checks = stack.bot.launches.checks
    for name, part in (("budget", checks.budget), ("quota", checks.quota)):
        original = part.ensure_room

        def counting(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(part, "ensure_room", counting)
    return calls


def test_each_interaction_checks_budgets_and_quotas_once(stack: Stack, counted: Counter[str]) -> None:
    stack.slack.command(REQUESTER, launch_text(stack))
    stack.slack.wait_for_view(REQUESTER)
    stack.settle()
    assert counted == {"budget": 1, "quota": 1}, "the command"

    counted.clear()
    assert stack.slack.submit(REQUESTER) is None
    stack.settle()
    assert counted == {"budget": 1, "quota": 1}, "the submission"

    counted.clear()
    stack.slack.click(APPROVER, "Approve")
    stack.slack.wait_for_view(APPROVER)
    assert counted == {"budget": 1, "quota": 1}, "the Approve click (the form shows the budgets)"

    counted.clear()
    stack.slack.set(APPROVER, Block.NOTE, "ok")
    assert stack.slack.submit(APPROVER) is None
    stack.settle()
    assert counted == {"budget": 1, "quota": 1}, "the approval"
    assert stack.creates() == 1
