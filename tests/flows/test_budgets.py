"""Monthly budgets from the policy file, through Slack: what this month's launches cost, against the budget.

llama-8b on h100 costs $5.40/h per replica. Launched with 2-5 replicas, it has surely cost $10.80 an hour
(v2 reports 2 replicas ready; on v1 the bot knows only that 2 to 5 ran): budgets count what was surely
spent, so after 3 hours the requester's $30 budget is used up on both APIs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.policy.budget import month_start
from tests.support.lifecycle import answer, ask_to_confirm, changes, launch, modal_text, submit_and_read
from tests.support.stack import APPROVER, APPROVER_2, BYSTANDER, REQUESTER, Stack, policy_settings

HOUR = 3600.0
POLICY = f"""
approvers = ["{APPROVER}", "{APPROVER_2}"]

[budgets]
per_person_monthly = 30
total_monthly = 100
"""


@pytest.fixture
def stack_settings(tmp_path: Path) -> dict[str, object]:
    return policy_settings(tmp_path, POLICY)


def ask(stack: Stack, user: str, text: str = "create llama-8b h100 1") -> None:
    stack.slack.command(user, text)
    stack.slack.wait_for_view(user)
    assert stack.slack.submit(user) is None
    stack.settle()


def test_a_used_up_budget_stops_new_launches_until_the_month_turns(stack: Stack) -> None:
    stack.follow_simulated_time()
    launch(stack, "create llama-8b h100 2-5 timeout=0")  # request #1, serving 2-5 replicas, no auto-stop
    ask(stack, REQUESTER)  # request #2, waiting for approval
    stack.advance(3 * HOUR)  # #1 has now surely cost $32.40: over the requester's $30

    before = len(stack.fake.ephemerals(REQUESTER))
    stack.slack.command(REQUESTER, "create llama-8b h100 1")
    refused = stack.slack.wait_for_ephemeral(REQUESTER, "monthly budget", after=before)
    spent = "$32.40" if stack.backend.name == "v2" else "$32.40–$81.00"
    assert refused.startswith(f"<@{REQUESTER}>'s launches cost {spent} of the $30.00 monthly budget so far.")
    assert "A new launch can't be asked for until the month turns (UTC)" in refused
    assert "Endpoints already running keep running" in refused and "[budgets]" in refused
    assert stack.slack.view(REQUESTER) is None  # no form to fill in vain

    before = len(stack.fake.ephemerals(APPROVER))
    stack.slack.click(APPROVER, "Approve")  # request #2 was asked before the money was spent
    refused = stack.slack.wait_for_ephemeral(APPROVER, "monthly budget", after=before)
    assert "This launch can't be approved until the month turns" in refused
    assert stack.slack.view(APPROVER) is None and stack.creates() == 1

    # someone else still has room, and the approver sees where both budgets stand
    ask(stack, BYSTANDER)
    stack.slack.click(APPROVER, "Approve")
    text = modal_text(stack.slack.wait_for_view(APPROVER))
    assert (
        f"• Budget: <@{BYSTANDER}>'s launches cost $0.00 of the $30.00 monthly budget so far this month."
        in text
    )
    assert (
        f"• Budget: Everyone's launches cost {spent} of the $100.00 monthly budget so far this month." in text
    )
    stack.slack.cancel(APPROVER)

    # the month turns: what May cost no longer counts against June
    ask_to_confirm(stack, REQUESTER, "stop llama-8b-r1")
    submit_and_read(stack, REQUESTER, "Stopping")
    stack.advance(60)
    now = stack.bot.launches.now()
    june = month_start(now.replace(day=28) + (now.replace(day=28) - now.replace(day=1)))
    stack.advance((june - now).total_seconds() + 60)
    stack.slack.command(REQUESTER, "create llama-8b h100 1")
    assert stack.slack.wait_for_view(REQUESTER)["title"]["text"]
    assert "llama-8b-r1" in answer(stack, REQUESTER, "spend 30d", "Spend")


def test_a_broken_budget_is_named_in_the_policy_check(tmp_path: Path) -> None:
    from bot.domain.catalog import Catalog
    from bot.policy_file import PolicyFileError, load_policy

    path = tmp_path / "policy.toml"
    path.write_text('approvers = ["U0123ABCD"]\n[budgets]\nper_person_montly = 30\ntotal_monthly = -5\n')
    with pytest.raises(PolicyFileError) as raised:
        load_policy(path, catalog=Catalog.load(None))
    message = str(raised.value)
    assert "[budgets] total_monthly: -5 must be more than 0." in message
    assert "per_person_montly" in message and "did you mean `per_person_monthly`" in message


def test_a_used_up_budget_refuses_start_and_scale_up_but_not_what_lowers_the_cost(stack: Stack) -> None:
    stack.follow_simulated_time()
    launch(stack, f"create llama-8b {stack.backend.hardware} 2-5 timeout=0")
    stack.advance(3 * HOUR)  # surely $32.40 spent: over the requester's $30
    spent = "$32.40" if stack.backend.name == "v2" else "$32.40–$81.00"
    patched = len(changes(stack))

    refused = answer(stack, REQUESTER, "scale llama-8b-r1 2-6", "monthly budget")
    assert refused.startswith(f"<@{REQUESTER}>'s launches cost {spent} of the $30.00 monthly budget so far.")
    assert "`llama-8b-r1` can't be scaled up until the month turns (UTC)" in refused
    refused = answer(stack, APPROVER, "scale llama-8b-r1 3-5", "monthly budget")  # anyone's scale-up
    assert "can't be scaled up" in refused
    assert len(changes(stack)) == patched  # Together was not asked

    assert "now runs 1–4 replicas" in answer(
        stack, REQUESTER, "scale llama-8b-r1 1-4", "now runs"
    )  # lowers the cost
    ask_to_confirm(stack, REQUESTER, "stop llama-8b-r1")
    submit_and_read(stack, REQUESTER, "Stopping")
    stack.settle()
    stack.advance(60)
    stack.settle()
    patched = len(changes(stack))

    refused = answer(stack, REQUESTER, "start llama-8b-r1", "monthly budget")
    assert "`llama-8b-r1` can't be started until the month turns (UTC)" in refused
    assert f"<@{REQUESTER}>'s launches cost" in refused and "[budgets]" in refused
    assert len(changes(stack)) == patched
