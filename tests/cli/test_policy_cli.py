"""`bot policy check`, and a bad policy file at start-up: a readable message, never a stack trace."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_bot
from tests.support.paths import EXAMPLE


def test_policy_check_prints_a_summary(tmp_path: Path) -> None:
    result = run_bot("policy", "check", str(EXAMPLE), env={"BOT_APPROVERS": "UENV1"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"Policy file {EXAMPLE} is valid.")
    assert "BOT_APPROVERS and BOT_ADMINS from the environment are added" in out
    assert "@ml-leads" in out and "Approvers   @ml-leads, UENV1" in out
    assert "small" in out and "up to $20.00/h" in out and "2 approvals from @ml-leads, @platform" in out
    assert "max replicas   8" in out and "pending requests expire after 24 h" in out


def test_policy_check_reads_bot_policy_file_and_reports_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text('expire_after = "soon"\n[limits]\nmax_replicas = 0\n')
    result = run_bot("policy", "check", env={"BOT_POLICY_FILE": str(bad)})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"Policy file {bad}: [limits] max_replicas: 0 must be at least 1." in result.stderr


def test_policy_check_without_a_file_says_how_to_name_one() -> None:
    result = run_bot("policy", "check")
    assert result.returncode == 2 and "set BOT_POLICY_FILE" in result.stderr


def test_a_bad_policy_file_stops_start_up_with_its_problems(tmp_path: Path) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text('[[tiers]]\nname = "small"\napprovers = ["alice"]\n')
    result = run_bot(
        "tracker",
        env={
            "BOT_POLICY_FILE": str(bad),
            "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
            "SLACK_BOT_TOKEN": "xoxb-1",
            "TOGETHER_API_KEY": "tk-1",
        },
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"bot: Policy file {bad}" in result.stderr
    assert '[[tiers]] #1 ("small") approvers: "alice" is not a Slack user id' in result.stderr
