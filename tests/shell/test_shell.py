"""`bot shell` as a newcomer or a script uses it: piped lines in, readable Slack out, a record left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bot.domain.model import LaunchDraft
from bot.shell.render import PLAIN, Style, mrkdwn, text_lines
from bot.store.db import make_engine, migrate
from bot.store.store import Store
from tests.support.launching import A100, LLAMA_8B
from tests.support.paths import ROOT

FULL_LAUNCH = """\
# a launch from command to STARTED, as two people
/endpoint create llama-8b a100 2-5
submit
as approver
click Approve
set note go ahead
submit
wait STARTED 30
"""


def shell(
    script: str, cwd: Path, env: dict[str, str] | None = None, *args: str
) -> subprocess.CompletedProcess[str]:
    """`bot shell` with `script` on standard input, in `cwd` (where its default database lands)."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "shell", *args],
        input=script,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=90,
    )


def audit(cwd: Path) -> list[dict]:  # type: ignore[type-arg]
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "audit", "--json"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_piped_script_launches_an_endpoint_and_leaves_an_audit_record(tmp_path: Path) -> None:
    result = shell(FULL_LAUNCH, tmp_path)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Traceback" not in out + result.stderr
    assert "\x1b[" not in out  # piped: plain text, no colours

    # The banner names who is acting and the approver the shell made up.
    assert "You are @you" in out and "as approver" in out
    # The launch form, as a form: labels and current values.
    assert "┌ Form “Launch an endpoint”, open for @you" in out
    assert f"Model: llama-8b · {LLAMA_8B}" in out
    assert "Minimum replicas (always running, always billed): 2" in out
    assert "Maximum replicas (the cost ceiling): 5" in out
    assert "[Request launch] [Cancel]" in out
    # The card in the channel, with its buttons and the simulated marker; mentions read as @names.
    assert "#C0LAUNCH endpoint-bot\n  *Launch request #1* from @you" in out
    assert "[Approve] [Reject]" in out and "Simulated: no real Together endpoint" in out
    assert "<@" not in out
    # The approval form for the approver, the note typed into it, then replies in the card's thread.
    assert "┌ Form “Approve launch”, open for @approver" in out
    assert "Note (optional): go ahead" in out
    assert "    ↳ :white_check_mark: Approved by @approver. Note: go ahead" in out
    assert "(no more buttons: Approve, Reject, Withdraw)" in out
    for state in ("STARTING", "STARTED"):
        assert (
            f"    ↳ {':arrows_counterclockwise:' if state == 'STARTING' else ':large_green_circle:'} State: *{state}*"
            in out
        )
    assert "Simulated: nothing runs at Together." in out
    assert "✓ seen:" in out
    # The simulator ends with the shell: no `curl` at a port that will be gone, but what a real reply does.
    assert "The endpoint is serving, in the simulator only: there is nothing to call." in out
    assert "curl" not in out and "127.0.0.1" not in out

    (row,) = audit(tmp_path)
    assert (row["requested_by"], row["approved_by"], row["rejected_by"]) == ("you", "approver", None)
    assert (row["model"], row["hardware"], row["min_replicas"], row["max_replicas"]) == (LLAMA_8B, A100, 2, 5)
    assert row["state"] == "RETIRED" and row["endpoint_id"].startswith("endpoint-")  # ended with the session
    assert row["decision_note"] == "go ahead"
    actions = [e["action"] for e in row["events"]]
    assert actions[:4] == ["requested", "approved", "launch_started", "launched"]
    assert [e["detail"].get("state") for e in row["events"] if e["action"] == "state_changed"] == [
        "STARTING",
        "STARTED",
    ]

    # The simulated endpoint ended with the session: recorded, and no longer followed.
    assert row["events"][-1]["action"] == "retired"
    assert "Simulated endpoints end with the shell" in out

    # So a second session starts clean and quick, without chasing the first one's endpoint.
    started = time.monotonic()
    again = shell("/endpoint help\n", tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "earlier shell session" not in again.stdout and "WARNING" not in again.stderr
    assert time.monotonic() - started < 20
    (row,) = audit(tmp_path)
    assert row["state"] == "RETIRED" and [e["action"] for e in row["events"]].count("retired") == 1


def test_a_session_that_died_is_tidied_up_by_the_next(tmp_path: Path) -> None:
    script = (
        # PENDING is shown as the approval's answer; STARTING is the first news after it.
        "/endpoint create llama-8b a100 2-5\nsubmit\nas approver\nclick Approve\nsubmit\nwait STARTING 20\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "shell"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(script)
    process.stdin.flush()
    for line in process.stdout:  # the launch went through; now the session dies without tidying up
        if line.startswith("✓ seen:"):
            break
    process.kill()
    process.communicate(timeout=20)

    again = shell("", tmp_path)
    assert again.returncode == 0, again.stderr
    assert "1 endpoint(s) or launch(es) of an earlier shell session were recorded as ended" in again.stdout
    assert "WARNING" not in again.stderr
    (row,) = audit(tmp_path)
    assert row["events"][-1]["action"] == "retired"


def test_fields_are_set_by_label_and_options_by_their_text(tmp_path: Path) -> None:
    script = """\
/endpoint create llama-8b a100 2-5
set hardware 2x H100
set min 1
set display name demo
set options prompt cache
set when approved create it stopped
submit
"""
    result = shell(script, tmp_path)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    # Hardware re-quotes the estimate: the bot re-rendered the form, and the shell showed it again.
    assert "Hardware (price per replica): 2x H100 80GB SXM" in out
    assert out.count("┌ Form “Launch an endpoint”") >= 2
    assert "Display name: demo" in out
    assert "Options: Prompt cache" in out
    (row,) = audit(tmp_path)
    assert row["hardware"] == "2x_nvidia_h100_80gb_sxm"
    assert (row["min_replicas"], row["max_replicas"]) == (1, 5)
    assert "*Name*" not in out and "Name: demo" in out
    assert "speculative decoding off, prompt cache on, created stopped" in out


def test_a_wait_that_times_out_fails_the_script(tmp_path: Path) -> None:
    result = shell("/endpoint help\nwait NEVER-SHOWN 0.5\n/endpoint create llama-8b a100 2-5\n", tmp_path)
    assert result.returncode == 1
    assert "no bot message containing 'NEVER-SHOWN' appeared within 0.5 s" in result.stdout
    assert "Launch an endpoint" not in result.stdout  # the script stopped at the failed wait
    assert "Traceback" not in result.stdout + result.stderr


def test_bad_lines_get_a_readable_answer_and_a_failing_exit_status(tmp_path: Path) -> None:
    script = """\
frobnicate now
click Approve
submit
set model llama-8b
as
/deploy llama
/endpoint create llama-8b a100 2-5
set nonsense 3
set hardware 80GB
set min lots
/endpoint help
/endpoint create whisper
set hardware l40s
cancel
/endpoint crate llama-8b
/endpoint frobnicate
/endpoint create lama-8b a10 5-2
"""
    result = shell(script, tmp_path)
    out = result.stdout
    assert result.returncode == 1
    assert "Traceback" not in out + result.stderr
    assert "✗ Unknown command 'frobnicate'. Type `help`" in out
    assert "✗ No button labelled 'Approve'. There are no buttons on screen." in out
    assert "✗ @you has no open form to submit." in out
    assert "✗ @you has no open form to change." in out
    assert "✗ Say who, as one word" in out
    assert "✗ /deploy is not a valid command" in out
    assert "✗ This form has no field 'nonsense'. Fields: Model, Hardware" in out
    assert "✗ '80GB' matches several: 1x A100 80GB PCIE, 1x A100 80GB SXM" in out
    assert "✗ Minimum replicas (always running, always billed) takes a number (got 'lots')." in out
    # A mistyped sub-command: a suggestion, not the whole usage; none likely: only what @you may use.
    assert "I don't know the command `crate`. Did you mean `create`?" in out
    assert "I don't know the command `frobnicate`. The commands are `create`, `list`" in out
    assert "`delete`" not in out.split("> /endpoint frobnicate")[1].split("> /endpoint create lama-8b")[0]
    # Every mistake of a command at once.
    assert "3 things to fix in that command:" in out
    assert "the model `lama-8b`" in out and "the hardware `a10`" in out and "`5-2`: the minimum (5)" in out
    # Hardware as the command takes it, but not offered for this model: the form's choices instead.
    assert "✗ 1x L40S is not among the hardware this form offers for the model. Choices: 1x H100" in out
    # The lines that made sense still worked: the bot's own usage answer, only for the person who asked.
    assert "[only visible to you]" in out and "/endpoint create" in out


def test_wait_sees_only_what_arrives_after_the_line_before_and_form_buttons_click(tmp_path: Path) -> None:
    script = """\
/endpoint create llama-8b a100 1
set hardware h100
submit
as approver
click Approve
click Approve and launch
wait STARTED 30
/endpoint stop llama-8b
click Stop
click Stop it
wait STOPPED 30
wait STARTED 1
"""
    result = shell(script, tmp_path)
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    # `set` takes the hardware as the command does: `h100` is 1x H100, not "several".
    assert "Hardware (price per replica): 1x H100 80GB SXM · $5.40/h per replica" in out
    # One replica: one figure, said once.
    assert "*Estimated cost:* $5.40/h at 1 replica. Billed per minute" in out
    assert "• $5.40/h (1 replica)" in out and "1–1" not in out and "at 1 replica," not in out
    # Nothing has run while the launch is pending: no cost line on the card yet.
    before_started = out.split("> wait STARTED 30")[0]
    assert "Approved by @approver" in before_started and "Cost so far" not in before_started
    # The form's own buttons are clicked by their labels; an unknown label lists what can be clicked.
    assert (
        "✗ No button labelled 'Stop'. Buttons on screen: Stop it, Cancel (in your form “Stop endpoint”)"
        in out
    )
    assert "(form “Stop endpoint” closed)" in out
    # `wait STOPPED` is not fooled by "billing stops once it is STOPPED", said before it was stopped.
    seen = [line for line in out.splitlines() if line.startswith("✓ seen:")]
    assert len(seen) == 2 and "STOPPED" in seen[1] and "billing" not in seen[1].lower()
    # Nothing that arrived after STOPPED says STARTED: the earlier messages do not count.
    assert "✗ wait: no bot message containing 'STARTED' appeared within 1 s (it was shown before: “" in out
    assert result.returncode == 1
    assert (
        "only messages that arrive or change after the line before it count"
        in shell("help\n", tmp_path).stdout
    )


def test_a_second_shell_on_the_same_database_is_told_what_to_do(tmp_path: Path) -> None:
    first = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "shell"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert first.stdin is not None and first.stdout is not None
    try:
        for line in first.stdout:  # the banner is printed once the first shell holds the database
            if line.startswith("Type `help`"):
                break
        second = shell("/endpoint help\n", tmp_path)
    finally:
        first.communicate("quit\n", timeout=30)
    assert second.returncode == 2
    assert "is in use by another bot process, most likely another `bot shell`" in second.stderr
    assert "DATABASE_URL=sqlite:///shell2.db bot shell" in second.stderr
    assert "PostgreSQL" not in second.stderr and "Traceback" not in second.stderr
    assert first.returncode == 0


def test_configured_approvers_are_named_and_none_is_made_up(tmp_path: Path) -> None:
    result = shell("", tmp_path, {"BOT_APPROVERS": "alice,bob"})
    assert result.returncode == 0, result.stderr
    assert "Approvers: @alice, @bob." in result.stdout and "made one up" not in result.stdout


def test_a_policy_files_approvers_are_named_and_a_two_approval_launch_works(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        'approvers = ["UAPPROVER1", "UAPPROVER2"]\n[[tiers]]\nname = "pair"\napprovals = 2\n',
        encoding="utf-8",
    )
    script = (
        "/endpoint create llama-8b h100 1\nsubmit\n"
        "as UAPPROVER1\nclick Approve\nsubmit\nas UAPPROVER2\nclick Approve\nsubmit\nwait STARTED 20\n"
    )
    result = shell(script, tmp_path, {"BOT_POLICY_FILE": str(policy)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Approvers: @UAPPROVER1, @UAPPROVER2 (from {policy}; type `as UAPPROVER1` to act as one)." in (
        result.stdout
    )
    assert "made one up" not in result.stdout and "1 of 2 approvals" in result.stdout
    assert "Approved by @UAPPROVER1 and @UAPPROVER2" in result.stdout


def test_shell_will_not_follow_launches_from_a_real_workspace(tmp_path: Path) -> None:
    store = Store(make_engine(f"sqlite:///{tmp_path / 'endpoint-bot.db'}"))
    migrate(store.engine)
    with store.transaction() as tx:
        tx.insert_request(
            team_id="T0REALTEAM",
            channel_id="C1",
            requested_by="U1",
            draft=LaunchDraft(model=LLAMA_8B, hardware=A100, min_replicas=1, max_replicas=1),
            cents_per_minute=6.67,
        )
    store.engine.dispose()
    result = shell("/endpoint help\n", tmp_path)
    assert result.returncode == 2
    assert "holds launches from a real Slack workspace (T0REALTEAM)" in result.stderr
    assert "DATABASE_URL=sqlite:///shell.db bot shell" in result.stderr


def test_mrkdwn_reads_as_a_person_sees_it() -> None:
    assert mrkdwn("<@U1> and <#C9|ops> &lt;b&gt; &amp; <!here>") == "@U1 and #ops <b> & @here"
    assert mrkdwn("see <https://x.example|the docs>") == "see the docs (https://x.example)"
    assert text_lines("run:\n```curl x \\\n  -d y```\ndone") == ["run:", "  curl x \\", "    -d y", "done"]
    bold = mrkdwn("*STARTED* :rocket:", Style(color=True))
    assert "\x1b[1mSTARTED\x1b[0m" in bold and "🚀" in bold
    assert mrkdwn("*STARTED* :rocket:", PLAIN) == "*STARTED* :rocket:"


def test_spend_charts_are_saved_in_the_current_folder(tmp_path: Path) -> None:
    result = shell("/endpoint spend month by model\nwait in your DM with the bot 30\n", tmp_path)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "[image: Spend by model" in out  # the chart, in the private answer
    saved = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("spend-by-model-"))
    assert [name.rsplit(".", 1)[1] for name in saved] == ["csv", "png"]
    assert f"saved to {tmp_path / saved[1]}" in out and f"saved to {tmp_path / saved[0]}" in out
    assert (tmp_path / saved[0]).read_text().startswith("date,endpoint_id,endpoint,requested_by,")


def test_set_model_searches_the_menu_and_picks_the_one_match(tmp_path: Path) -> None:
    script = """\
/endpoint create
set model qwen
set model qwq
set hardware 1x H100
set min 1
set max 1
submit
"""
    result = shell(script, tmp_path)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr  # the ambiguous search fails its line, the rest works
    assert "✗ Model: 2 match 'qwen'; type more of one (an alias or the model id):" in out
    assert "    qwen-9b · Qwen/Qwen3.5-9B-FP8\n    qwq-32b · Qwen/QwQ-32B" in out
    assert "Model: qwq-32b · Qwen/QwQ-32B" in out and "searches as you type: set model <words>" in out
    (row,) = audit(tmp_path)
    assert (row["model"], row["hardware"]) == ("Qwen/QwQ-32B", "1x_nvidia_h100_80gb_sxm")
