"""Who may act on a running endpoint, and what a refusal says."""

from __future__ import annotations

import pytest

from bot.domain.errors import NotAllowed
from bot.domain.policy.access import Act, Policy

POLICY = Policy(approvers=frozenset({"UAPP"}), admins=frozenset({"UADM"}))
REQUESTER_ACTS = [Act.STOP, Act.START, Act.SCALE, Act.RENAME, Act.TIMEOUT]


@pytest.mark.parametrize("act", REQUESTER_ACTS)
def test_requester_approvers_and_admins_may_run_an_endpoint(act: Act) -> None:
    for user in ("UREQ", "UAPP", "UADM"):
        assert POLICY.may(user, act, "UREQ")
    assert not POLICY.may("UOTHER", act, "UREQ")


@pytest.mark.parametrize("act", REQUESTER_ACTS)
def test_refusal_names_everyone_who_can(act: Act) -> None:
    with pytest.raises(NotAllowed) as caught:
        POLICY.ensure("UOTHER", act, "UREQ", "`ep`")
    assert caught.value.message == (
        "Only the person who asked for it (<@UREQ>), approvers (<@UAPP>) or admins (<@UADM>) "
        f"can {act.verb} `ep`."
    )


def test_delete_needs_an_approver_or_an_admin() -> None:
    assert POLICY.may("UAPP", Act.DELETE, "UREQ") and POLICY.may("UADM", Act.DELETE, "UREQ")
    assert not POLICY.may("UREQ", Act.DELETE, "UREQ")
    with pytest.raises(
        NotAllowed, match=r"^Only approvers \(<@UAPP>\) or admins \(<@UADM>\) can delete `ep`\.$"
    ):
        POLICY.ensure("UREQ", Act.DELETE, "UREQ", "`ep`")


def test_with_nobody_configured_the_refusal_says_how_to_configure() -> None:
    with pytest.raises(NotAllowed, match="BOT_APPROVERS or BOT_ADMINS"):
        Policy(frozenset()).ensure("UREQ", Act.DELETE, "UREQ", "`ep`")


def test_help_lists_delete_only_for_approvers_and_admins() -> None:
    assert "delete" not in POLICY.commands_for("UREQ")
    assert "stop" in POLICY.commands_for("UREQ")
    assert "delete" in POLICY.commands_for("UAPP") and "delete" in POLICY.commands_for("UADM")
