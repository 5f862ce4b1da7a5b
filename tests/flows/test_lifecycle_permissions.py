"""Who may act on a running endpoint, both ways, through signed Slack requests. A refusal says who can."""

from __future__ import annotations

import pytest

from tests.support.lifecycle import answer, ask_to_confirm, deletes, launch, patches, submit_and_read
from tests.support.stack import ADMIN, APPROVER, BYSTANDER, REQUESTER, Stack

# command -> (what the refusal says the person cannot do, what the person sees when it works)
REQUESTER_COMMANDS = {
    "scale llama-8b-r1 1-3": ("can scale `llama-8b-r1`", "now runs 1–3 replicas"),
    "rename llama-8b-r1 renamed": ("can rename `llama-8b-r1`", "is now called *renamed*"),
    "timeout llama-8b-r1 30": ("can change the auto-stop of `llama-8b-r1`", "after 30 idle minutes"),
}
WHO = "Only the person who asked for it (<@UREQUESTER>), approvers (<@UAPPROVER1>, <@UAPPROVER2>) or admins (<@UADMIN>)"


@pytest.mark.parametrize("command", sorted(REQUESTER_COMMANDS))
def test_bystander_is_refused_and_told_who_can(stack: Stack, command: str) -> None:
    launch(stack)
    calls = len(stack.sim.requests)
    text = answer(stack, BYSTANDER, command)
    refusal, _ = REQUESTER_COMMANDS[command]
    assert text.startswith(f"{WHO} {refusal}."), text
    assert len(stack.sim.requests) == calls


@pytest.mark.parametrize(
    ("user", "command"),
    [(REQUESTER, c) for c in sorted(REQUESTER_COMMANDS)]
    + [(APPROVER, "scale llama-8b-r1 1-3"), (ADMIN, "rename llama-8b-r1 renamed")],
)
def test_requester_approvers_and_admins_may_change_settings(stack: Stack, user: str, command: str) -> None:
    if command.startswith("rename") and stack.backend.name == "v2":
        pytest.skip("v2 endpoint names are immutable: rename is refused (test_rename_is_refused_on_v2)")
    launch(stack, started=False)
    before = len(patches(stack))  # v2's launch itself patches the traffic split
    _, works = REQUESTER_COMMANDS[command]
    answer(stack, user, command, works)
    assert len(patches(stack)) == before + 1


def test_bystander_cannot_stop_or_start(stack: Stack) -> None:
    launch(stack)
    before = patches(stack)
    for verb in ("stop", "start"):
        text = answer(stack, BYSTANDER, f"{verb} llama-8b-r1")
        assert text.startswith(f"{WHO} can {verb} `llama-8b-r1`.")
    assert stack.slack.view(BYSTANDER) is None and patches(stack) == before


def test_approver_may_stop_someone_elses_endpoint(stack: Stack) -> None:
    launch(stack)
    before = len(patches(stack))
    ask_to_confirm(stack, APPROVER, "stop llama-8b-r1")
    submit_and_read(stack, APPROVER, "Stopping")
    assert len(patches(stack)) == before + 1  # v1: {"state": "STOPPED"}; v2: 0/0 replicas


def test_requester_may_not_delete_but_an_admin_may(stack: Stack) -> None:
    launch(stack)
    text = answer(stack, REQUESTER, "delete llama-8b-r1")
    assert text.startswith(
        "Only approvers (<@UAPPROVER1>, <@UAPPROVER2>) or admins (<@UADMIN>) can delete `llama-8b-r1`."
    )
    assert stack.slack.view(REQUESTER) is None
    ask_to_confirm(stack, ADMIN, "delete llama-8b-r1")
    told = submit_and_read(stack, ADMIN, "Delet")  # v1 deletes at once; v2 stops the endpoint first
    assert told.startswith("Deleted" if stack.backend.name == "v1" else "Deleting")
    stack.advance(60)
    assert stack.endpoints() == {} and deletes(stack) >= 1  # v2 deletes the deployment, then the endpoint


def test_permission_is_checked_again_when_the_dialog_is_submitted(stack: Stack) -> None:
    """A confirmation dialog is not a permission: its submission is checked against the rules again."""
    launch(stack)
    view = ask_to_confirm(stack, APPROVER, "delete llama-8b-r1")
    forged = stack.slack.requests.view_submission(BYSTANDER, view)
    assert forged.post(stack.slack.events_url, stack.slack.http).status_code == 200
    stack.slack.wait_for_ephemeral(BYSTANDER, "can delete")
    assert deletes(stack) == 0


@pytest.mark.backend("v2", reason="v2 endpoint names are immutable; v1 renames (test_lifecycle_actions.py)")
def test_rename_is_refused_on_v2(stack: Stack) -> None:
    launch(stack)
    before = len(patches(stack))
    replies = len(stack.thread())
    text = answer(stack, REQUESTER, "rename llama-8b-r1 renamed")
    assert text.startswith("`llama-8b-r1` can't be renamed: on Together's v2 API an endpoint's name is")
    assert len(patches(stack)) == before and len(stack.thread()) == replies  # refused before any call
    help_text = answer(stack, REQUESTER, "help", "Usage")
    assert "/endpoint rename" not in help_text and "`scale` and `timeout` work on" in help_text
