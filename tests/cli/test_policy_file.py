"""The policy file: what it says becomes the policy; every mistake is named with its key and its fix."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.catalog import Catalog
from bot.domain.policy.tiers import LaunchPolicy
from bot.policy_file import PolicyFileError, load_policy, one_line, summary
from tests.support.paths import EXAMPLE

GOOD = """
approvers = ["@ml-leads"]
admins = ["@platform", "UADMIN"]
expire_after = "24h"

[groups]
ml-leads = ["UAPPROVER1", "UAPPROVER2", "UMLLEAD3"]
platform = ["UPLATFORM1"]

[limits]
max_replicas = 8
max_dollars_per_hour = 100
models = ["llama-8b", "meta-llama/Llama-3.3-70B-Instruct-Turbo"]
hardware = ["h100", "2xh100"]

[[tiers]]
name = "large"
up_to = 200
approvals = 2
at_least_one_from = ["@platform"]

[[tiers]]
name = "small"
up_to = 20
"""


def load(tmp_path: Path, text: str, **kwargs: object) -> LaunchPolicy:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return load_policy(path, catalog=Catalog(), **kwargs)  # type: ignore[arg-type]


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(PolicyFileError) as caught:
        load(tmp_path, text)
    error = caught.value
    assert str(tmp_path / "policy.toml") in str(error)  # every message names the file
    return error.problems


def test_a_good_file_becomes_the_policy(tmp_path: Path) -> None:
    policy = load(tmp_path, GOOD, approvers={"UENV"}, admins={"UENVADMIN"})
    assert policy.tiered and [t.name for t in policy.tiers] == ["small", "large"]  # cheapest first
    small, large = policy.tiers
    assert (small.up_to, small.approvals, small.above) == (20, 1, 0.0)
    assert (large.up_to, large.approvals, large.above) == (200, 2, 20)
    # A tier without approvers takes the top-level ones, BOT_APPROVERS (here UENV) included.
    assert small.eligible == {"UAPPROVER1", "UAPPROVER2", "UMLLEAD3", "UENV"}
    assert large.eligible == small.eligible | {"UPLATFORM1"} and large.required == {"UPLATFORM1"}
    assert policy.admins.members == {"UPLATFORM1", "UADMIN", "UENVADMIN"}
    assert policy.limits.max_replicas == 8 and policy.limits.max_dollars_per_hour == 100
    assert policy.limits.models == {
        "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo": "llama-8b",
        "meta-llama/Llama-3.3-70B-Instruct-Turbo": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    }
    assert set(policy.limits.hardware or {}) == {"1x_nvidia_h100_80gb_sxm", "2x_nvidia_h100_80gb_sxm"}
    assert policy.expire_after == timedelta(hours=24)
    # Everyone who may approve some launch may also run endpoints, like the admins.
    access = policy.access()
    assert access.is_privileged("UPLATFORM1") and access.is_privileged("UENV")
    assert not access.is_privileged("UREQUESTER")


def test_the_shipped_example_is_valid(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "policy.toml")
    policy = load_policy(tmp_path / "policy.toml", catalog=Catalog())
    assert policy.tiered and policy.expire_after is not None


def test_summary_says_groups_tiers_limits_and_expiry(tmp_path: Path) -> None:
    text = summary(load(tmp_path, GOOD))
    assert "@ml-leads  UAPPROVER1, UAPPROVER2, UMLLEAD3" in text
    assert "small" in text and "up to $20.00/h" in text and "1 approval from @ml-leads" in text
    assert "$20.00–$200.00/h" in text and "at least one from @platform" in text
    assert "above $200.00/h: refused" in text
    assert "max replicas   8" in text and "$100.00 per endpoint" in text
    assert "llama-8b (meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo)" in text and "2xh100" in text
    assert "expire after 24 h" in text
    assert "tiers:" not in one_line(LaunchPolicy.from_environment({"U1"}))
    assert one_line(load(tmp_path, GOOD)).startswith(str(tmp_path / "policy.toml") + ": small up to $20.00/h")


def test_typos_in_keys_are_named_with_the_right_key(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
aprovers = ["U1AAA"]

[[tiers]]
name = "small"
up_to = 20
aprovals = 1
""",
    )
    assert found == [
        '[[tiers]] #1 ("small"): unknown key `aprovals` (did you mean `approvals`?). Its keys are name, up_to, '
        "approvers, approvals, at_least_one_from.",
        "unknown top-level key `aprovers` (did you mean `approvers`?). The file's keys are approvers, admins, "
        "expire_after, [groups], [limits], [budgets], [[tiers]].",
    ]


def test_wrong_values_say_what_to_write(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
[limits]
max_replicas = 100
max_dollars_per_hour = "100"

[[tiers]]
name = "large"
approvals = "two"
""",
    )
    assert found == [
        "[limits] max_replicas: 100 is more than 64. Write a whole number from 1 to 64, e.g. max_replicas = 8.",
        '[limits] max_dollars_per_hour: "100" is not a number. Write dollars per hour at max replicas, e.g. '
        "max_dollars_per_hour = 100.",
        '[[tiers]] #1 ("large") approvals: "two" is not a whole number. Write how many distinct people must '
        "approve, e.g. approvals = 2.",
    ]


def test_a_top_level_key_written_after_a_table_is_explained(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, '[limits]\nmax_replicas = 8\nexpire_after = "1h"\n')
    assert found.startswith("[limits]: unknown key `expire_after`")
    assert found.endswith("move it above the first [table] header.")
    # Under [groups] it would be read as a group called "approvers":
    (found,) = problems(tmp_path, '[groups]\nml-leads = ["U1AAA"]\napprovers = ["@ml-leads"]\n')
    assert found.startswith('[groups] approvers: a group called "approvers" looks like the top-level key')


def test_people_must_be_user_ids_or_known_groups(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
approvers = ["@ml-lead", "alice", "<@U0ABC>"]

[groups]
ml-leads = ["U1AAA", "@platform"]
""",
    )
    assert "[groups] ml-leads: @platform is a group; a group lists people only." in found[0]
    assert found[1].startswith("approvers: @ml-lead is not a group in [groups] (did you mean @ml-leads?)")
    assert found[2].startswith('approvers: "alice" is not a Slack user id. Write member ids such as')
    assert found[3] == 'approvers: write "U0ABC", without the <@ >.'


def test_tiers_must_be_approvable_and_bounded(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
[groups]
leads = ["U1AAA"]

[[tiers]]
name = "small"
up_to = 20

[[tiers]]
name = "Small"
approvers = ["@leads"]
approvals = 2

[[tiers]]
name = "huge"
approvers = ["@leads"]
""",
    )
    assert found[0].startswith('[[tiers]] #1 ("small"): nobody may approve it. Write approvers = [...]')
    assert found[1] == '[[tiers]] #2 ("Small"): another tier is called "Small". Give each tier its own name.'
    assert found[2].startswith(
        '[[tiers]] #2 ("Small"): needs 2 approvals from distinct people, but only 1 person may approve it'
    )
    assert found[3].startswith(
        '[[tiers]] #3 ("huge"): only the most expensive tier may leave out up_to (no upper bound)'
    )


def test_limits_resolve_through_the_catalogue(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
expire_after = "24"

[limits]
models = ["lama-8b"]
hardware = []
""",
    )
    assert found[0].startswith("[limits] models: I don't know the model `lama-8b`. Did you mean `llama-8b`")
    assert found[1].startswith("[limits] hardware: the list is empty, so nothing could be launched.")
    assert found[2].startswith(
        'expire_after: "24" is not a duration. Write a duration in quotes such as "24h"'
    )


def test_broken_toml_and_a_missing_file(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, 'approvers = ["U1AAA"\n')
    assert found.startswith("not valid TOML:") and "line" in found
    with pytest.raises(PolicyFileError, match="the file does not exist. Check BOT_POLICY_FILE"):
        load_policy(tmp_path / "nope.toml", catalog=Catalog())
