"""`bot doctor` against the fakes: all good, then each thing that can be wrong, named with its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.sandbox.fake_slack import FakeSlack
from bot.simulator.server import SimulatorServer
from bot.store.db import make_engine, migrate
from tests.support.stack import APPROVER, BOT_TOKEN, SIGNING_SECRET, TOGETHER_KEY


@pytest.fixture
def healthy(
    monkeypatch: pytest.MonkeyPatch, database_url: str, fake_slack: FakeSlack, sim_server: SimulatorServer
) -> pytest.MonkeyPatch:
    """An environment where everything works: the fakes answer and the database is migrated."""
    engine = make_engine(database_url)
    migrate(engine)
    engine.dispose()
    for key, value in {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.base_url,
        "TOGETHER_API_KEY": TOGETHER_KEY,
        "TOGETHER_BASE_URL": sim_server.url + "/v1",
        "DATABASE_URL": database_url,
        "BOT_APPROVERS": APPROVER,
    }.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str], str]:
    """Exit status, each check's line by its name, and the whole output."""
    status = main(["doctor"])
    out = capsys.readouterr().out
    lines = {
        line.split()[1]: line for line in out.splitlines() if line.split()[:1] in (["ok"], ["FAIL"], ["warn"])
    }
    for secret in (BOT_TOKEN, SIGNING_SECRET, TOGETHER_KEY):
        assert secret not in out
    return status, lines, out


def test_all_good(healthy: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, out = doctor(capsys)
    assert status == 0, out
    assert set(lines) == {"settings", "slack", "together", "database"}
    assert all(line.startswith("ok ") for line in lines.values()), out
    assert "workspace Simulated Workspace" in lines["slack"]
    assert "hardware configurations" in lines["together"]
    assert "reachable and migrated" in lines["database"]
    assert out.rstrip().endswith("All checks passed.")


def test_bad_slack_token(healthy: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    healthy.setenv("SLACK_BOT_TOKEN", "xoxb-not-the-right-one")
    status, lines, out = doctor(capsys)
    assert status == 1
    assert lines["slack"].startswith("FAIL") and "invalid_auth" in lines["slack"]
    assert "Bot User OAuth Token" in lines["slack"]
    assert "xoxb-not-the-right-one" not in out
    assert lines["together"].startswith("ok") and lines["database"].startswith("ok")


def test_bad_together_key(healthy: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    healthy.setenv("TOGETHER_API_KEY", "tk-wrong-key-0000")
    status, lines, out = doctor(capsys)
    assert status == 1
    assert lines["together"].startswith("FAIL") and "refused TOGETHER_API_KEY (401)" in lines["together"]
    assert "api-keys" in lines["together"] and "tk-wrong-key-0000" not in out
    assert lines["slack"].startswith("ok")


def test_unreachable_database(
    healthy: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    healthy.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'no-such-folder' / 'bot.db'}")
    status, lines, _ = doctor(capsys)
    assert status == 1
    assert lines["database"].startswith("FAIL") and "cannot reach" in lines["database"]
    assert "DATABASE_URL" in lines["database"]


def test_unreachable_postgres_hides_the_password(
    healthy: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    healthy.setenv("DATABASE_URL", "postgresql+psycopg://bot:s3cret-pass@127.0.0.1:1/bot")
    status, lines, out = doctor(capsys)
    assert status == 1 and lines["database"].startswith("FAIL") and "s3cret-pass" not in out


def test_unmigrated_database(
    healthy: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    healthy.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    status, lines, out = doctor(capsys)
    assert status == 0, out  # `bot run` migrates at start: worth a look, not a failure
    assert lines["database"].startswith("warn") and "not migrated yet" in lines["database"]
    assert "`bot run` migrates it at start" in lines["database"]


def test_missing_settings_are_named_and_their_checks_skipped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    status, lines, out = doctor(capsys)
    assert status == 1
    assert "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, TOGETHER_API_KEY" in lines["settings"]
    assert "skipped: SLACK_BOT_TOKEN is not set" in lines["slack"]
    assert "skipped: TOGETHER_API_KEY is not set" in lines["together"]
    assert "BOT_APPROVERS is empty" in out


def test_invalid_setting_is_a_failed_check_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_POLL_SECONDS", "soon")
    status, lines, _ = doctor(capsys)
    assert status == 1 and "BOT_POLL_SECONDS" in lines["settings"]


def test_doctor_reports_the_policy_in_force(
    healthy: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, lines, _ = doctor(capsys)
    assert "no BOT_POLICY_FILE: one approval by BOT_APPROVERS per launch" in lines["settings"]
    policy = tmp_path / "policy.toml"
    policy.write_text(
        'expire_after = "90m"\n[groups]\nleads = ["UAPPROVER1", "UAPPROVER2"]\n'
        '[[tiers]]\nname = "small"\nup_to = 20\napprovers = ["@leads"]\n'
        '[[tiers]]\nname = "large"\napprovers = ["@leads"]\napprovals = 2\n'
    )
    healthy.setenv("BOT_POLICY_FILE", str(policy))
    status, lines, out = doctor(capsys)
    assert status == 0, out
    assert lines["policy"].startswith("ok") and "small up to $20.00/h: 1 approval" in lines["policy"]
    assert "large above $20.00/h: 2 approvals" in lines["policy"] and "expire after 90 min" in lines["policy"]


def test_doctor_names_the_policy_files_problems(
    healthy: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[[tiers]]\nname = "small"\naprovals = 1\n')
    healthy.setenv("BOT_POLICY_FILE", str(policy))
    status, lines, out = doctor(capsys)
    assert status == 1 and lines["policy"].startswith("FAIL")
    assert str(policy) in lines["policy"] and "unknown key `aprovals` (did you mean `approvals`?)" in out
    assert "Traceback" not in out
