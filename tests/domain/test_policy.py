"""The policy's rules on their own: tiers by cost, limits and their words, who may approve next, durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.errors import NotAllowed, PolicyLimit
from bot.domain.model import Approval, LaunchDraft, LaunchRequest, RequestStatus
from bot.domain.policy.approval import check_may_decide
from bot.domain.policy.tiers import LaunchPolicy, Limits, People, Tier, describe_duration, parse_duration

GROUPS = {"leads": frozenset({"ULEAD1", "ULEAD2"}), "platform": frozenset({"UPLAT1"})}
LEADS = People(("@leads",), GROUPS)
PLATFORM = People(("@platform",), GROUPS)
H100 = 9.0  # cents a minute per replica: $5.40/h

POLICY = LaunchPolicy(
    approvers=LEADS,
    admins=PLATFORM,
    tiers=(
        Tier("small", 20, LEADS),
        Tier("large", 200, LEADS, approvals=2, at_least_one_from=PLATFORM, above=20),
    ),
    limits=Limits(
        max_replicas=8,
        max_dollars_per_hour=100,
        models={"meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo": "llama-8b"},
        hardware={"1x_nvidia_h100_80gb_sxm": "h100", "4x_nvidia_h100_80gb_sxm": "4xh100"},
    ),
    source="policy.toml",
    groups=GROUPS,
)


def request(
    cents: float = H100, replicas: int = 5, approvals: tuple[str, ...] = (), tier: str | None = "large"
) -> LaunchRequest:
    now = datetime(2026, 11, 27, tzinfo=UTC)
    return LaunchRequest(
        id=7,
        team_id="T1",
        channel_id="C1",
        requested_by="UREQ",
        draft=LaunchDraft(
            "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", "1x_nvidia_h100_80gb_sxm", 1, replicas
        ),
        cents_per_minute=cents,
        status=RequestStatus.PENDING,
        requested_at=now,
        tier=tier,
        approvals_needed=2 if tier == "large" else 1,
        approvals=tuple(Approval(u, now) for u in approvals),
    )


def test_a_launch_falls_in_the_first_tier_its_cost_does_not_exceed() -> None:
    assert POLICY.tier_for(5.4).name == "small"  # type: ignore[union-attr]
    assert POLICY.tier_for(20.0).name == "small"  # type: ignore[union-attr]  # bounds are inclusive
    assert POLICY.tier_for(20.01).name == "large"  # type: ignore[union-attr]
    assert POLICY.tier_for(200.01) is None
    assert POLICY.tiers[1].cost_range() == "$20.00–$200.00/h"
    assert POLICY.tiers[1].needs() == "2 approvals from @leads, @platform, at least one from @platform"


def test_without_a_file_every_launch_needs_one_approval_and_nothing_is_limited() -> None:
    policy = LaunchPolicy.from_environment({"UB", "UA"}, {"UADM"})
    assert not policy.tiered and policy.tier_for(10_000.0) is policy.tiers[0]
    assert policy.tiers[0].approvers.mentions({"UA"}) == "<@UB>"
    policy.check(
        model="any/model", hardware="8x_nvidia_b200_180gb_sxm", max_replicas=64, cents_per_minute=999
    )
    assert policy.access().is_privileged("UADM") and policy.access().is_privileged("UA")


def test_limits_say_the_limit_and_what_is_allowed() -> None:
    with pytest.raises(PolicyLimit) as caught:
        POLICY.check(model="mistralai/Mixtral-8x7B-Instruct-v0.1")
    assert caught.value.field == "model"
    assert caught.value.message == (
        "The policy does not allow the model `mistralai/Mixtral-8x7B-Instruct-v0.1`. Allowed models: "
        "`llama-8b` (meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo)."
    )
    with pytest.raises(PolicyLimit, match=r"Allowed hardware: `h100` \(1x_nvidia_h100_80gb_sxm\), `4xh100`"):
        POLICY.check(hardware="1x_nvidia_h200_140gb_sxm")
    with pytest.raises(PolicyLimit) as caught:
        POLICY.check(max_replicas=10)
    assert caught.value.message == (
        "The policy allows at most 8 replicas per endpoint; you asked for 10. Choose 8 or fewer."
    )
    with pytest.raises(PolicyLimit) as caught:
        POLICY.check(max_replicas=5, cents_per_minute=4 * H100)  # 4xh100: $21.60/h a replica
    assert caught.value.field == "max_replicas"
    assert caught.value.message == (
        "$108.00/h at 5 replicas is over the policy's limit of $100.00/h per endpoint. On this hardware "
        "($21.60/h per replica) that allows at most 4 replicas; choose fewer replicas or cheaper hardware."
    )
    POLICY.check(max_replicas=4, cents_per_minute=4 * H100)


def test_above_every_tier_nobody_could_approve() -> None:
    policy = LaunchPolicy(LEADS, PLATFORM, (Tier("only", 10, LEADS),))
    with pytest.raises(PolicyLimit, match=r"over the highest cost tier \(only, up to \$10.00/h\)"):
        policy.check(max_replicas=2, cents_per_minute=H100)
    with pytest.raises(PolicyLimit, match=r"Even one replica of this hardware costs \$21.60/h"):
        policy.check(max_replicas=1, cents_per_minute=4 * H100)


def test_the_requester_never_approves_and_outsiders_are_told_the_tiers_approvers() -> None:
    with pytest.raises(NotAllowed) as caught:
        check_may_decide(POLICY, request(), "UREQ", approving=True)
    assert caught.value.message == (
        "You clicked Approve on your own launch request, so someone else must approve it: @leads (<@ULEAD1>, "
        "<@ULEAD2>), @platform (<@UPLAT1>) (tier *large* ($20.00–$200.00/h) needs 2 approvals)."
    )
    with pytest.raises(NotAllowed) as caught:
        check_may_decide(POLICY, request(), "UOTHER", approving=False)
    assert caught.value.message == (
        "You clicked Reject on a launch in tier *large* ($20.00–$200.00/h): only @leads (<@ULEAD1>, "
        "<@ULEAD2>), @platform (<@UPLAT1>) can approve or reject it."
    )


def test_one_approval_per_person_and_the_last_one_kept_for_the_required_group() -> None:
    after_one = request(approvals=("ULEAD1",))
    with pytest.raises(NotAllowed, match=r"^You already approved this request \(1 of 2 approvals\)"):
        check_may_decide(POLICY, after_one, "ULEAD1", approving=True)
    check_may_decide(POLICY, after_one, "ULEAD1", approving=False)  # may still reject
    with pytest.raises(NotAllowed) as caught:
        check_may_decide(POLICY, after_one, "ULEAD2", approving=True)
    assert caught.value.message == (
        "This request has 1 of 2 approvals, and the last one must come from @platform: @platform "
        "(<@UPLAT1>). You may still reject it."
    )
    check_may_decide(POLICY, after_one, "UPLAT1", approving=True)
    # With the platform's approval in, either lead may give the second.
    check_may_decide(POLICY, request(approvals=("UPLAT1",)), "ULEAD2", approving=True)
    progress = POLICY.progress(after_one)
    assert (progress.count, progress.remaining, progress.waiting_for("UREQ")) == (
        1,
        1,
        "@platform (<@UPLAT1>)",
    )


def test_a_request_keeps_its_tier_by_name_or_falls_back_to_its_cost() -> None:
    assert POLICY.tier_of(request(replicas=1, tier="large")).name == "large"
    assert POLICY.tier_of(request(replicas=1, tier="gone")).name == "small"  # $5.40/h
    assert POLICY.tier_of(request(replicas=64, tier=None)).name == "large"  # above all: the top tier


@pytest.mark.parametrize(
    ("text", "span", "shown"),
    [
        ("24h", timedelta(hours=24), "24 h"),
        ("90m", timedelta(minutes=90), "90 min"),
        ("2d", timedelta(days=2), "2 days"),
        ("1h30m", timedelta(minutes=90), "90 min"),
        ("3h 30min", timedelta(minutes=210), "3 h 30 min"),
        ("1d", timedelta(days=1), "24 h"),
    ],
)
def test_durations(text: str, span: timedelta, shown: str) -> None:
    assert parse_duration(text) == span
    assert describe_duration(span) == shown


@pytest.mark.parametrize("text", ["24", "", "h", "1 week", "0m", "-1h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
