"""`bot shell`: the banner, the read loop (interactive on a terminal, line by line when piped)."""

from __future__ import annotations

import io
import logging
import re
import sys
import threading
from typing import TextIO

from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.sandbox.driver import DEFAULT_CHANNEL
from bot.shell.commands import Shell, StopScript
from bot.shell.render import Style
from bot.shell.wiring import DEFAULT_APPROVER, ForeignDatabase, LocalBot, start_local
from bot.simulator.v1.api import DEFAULT_DURATIONS
from bot.simulator.v2.state import DEFAULT_V2_DURATIONS
from bot.store.db import DatabaseInUse

END_OF_INPUT_WAIT = 30.0  # seconds to let queued work finish once the script has ended


def banner(local: LocalBot, user: str, speed: float) -> list[str]:
    approvers = sorted(local.bot.launches.policy.all_approvers)
    made_up = local.settings.bot_approvers == DEFAULT_APPROVER and DEFAULT_APPROVER in approvers
    who = ", ".join(f"@{a}" for a in approvers) or "nobody"
    if made_up:
        who += f" (BOT_APPROVERS is unset, so the shell made one up: type `as {DEFAULT_APPROVER}` to act as them)"
    elif local.settings.bot_policy_file is not None:
        first = approvers[0] if approvers else "U0123ABCD"
        who += f" (from {local.settings.bot_policy_file}; type `as {first}` to act as one)"
    v2 = local.bot.provider.api_version == "v2"
    durations = (
        DEFAULT_V2_DURATIONS["PROVISIONING"] + DEFAULT_V2_DURATIONS["SCALING"]
        if v2
        else DEFAULT_DURATIONS["PENDING"] + DEFAULT_DURATIONS["STARTING"]
    )
    startup = durations / speed
    database = make_url(local.settings.database_url).render_as_string(hide_password=True)
    lines = [
        "endpoint-bot shell: the real bot, with a pretend Slack workspace and a simulated Together AI.",
        "Nothing leaves this machine and nothing is billed.",
        f"  You are @{user} in #{DEFAULT_CHANNEL}. Approvers: {who}.",
        f"  Together API: {'v2 (TOGETHER_API=v2)' if v2 else 'v1 (TOGETHER_API=v2 for v2)'}. "
        f"Simulated time runs {speed:g}x: a new endpoint serves ({'READY' if v2 else 'STARTED'}) in about "
        f"{startup:.0f} seconds.",
        f"  Database: {database} (`bot audit` shows the record afterwards).",
    ]
    if local.retired:  # a session that did not stop cleanly left them behind
        lines.append(
            f"  {local.retired} endpoint(s) or launch(es) of an earlier shell session were recorded as ended: "
            "its pretend Slack and Together ended with it."
        )
    return lines + [
        f"Try:  /endpoint create llama-8b h100 2-5   then submit, as {approvers[0] if approvers else 'approver'}, "
        f"click Approve, submit, `wait {'READY' if v2 else 'STARTED'}`.",
        "  h100 works on both Together APIs; `/endpoint hardware llama-8b` lists what fits on this one.",
        "Type `help` for every command, `quit` to leave.",
    ]


def busy_advice(settings: Settings) -> str:
    """What to do when another process holds the shell's database (usually another `bot shell`)."""
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    return (
        f"{database} is in use by another bot process, most likely another `bot shell` (or a `bot run`) "
        "started in this folder. Type `quit` in that one first, or give this one a database of its own: "
        "DATABASE_URL=sqlite:///shell2.db bot shell"
    )


def run_shell(
    settings: Settings,
    *,
    speed: float,
    user: str,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Run the shell until `quit` or end of input. 0 when every line worked, 1 otherwise."""
    stdin = stdin or sys.stdin
    stdout = stdout or _safe_stdout()
    if "bot_log_level" not in settings.model_fields_set:
        logging.getLogger().setLevel(logging.WARNING)  # the bot's INFO lines would drown the conversation
    try:
        local = start_local(settings, speed=speed)
    except ForeignDatabase as exc:
        print(f"bot shell: {exc}", file=sys.stderr)
        return 2
    except DatabaseInUse:
        print(f"bot shell: {busy_advice(settings)}", file=sys.stderr)
        return 2
    style = Style(color=_isatty(stdout) and not settings.no_color)
    shell = Shell(local, stdout, user=user, style=style)
    try:
        shell.say(*banner(local, user, speed))
        ok = _interactive(shell, stdin) if _isatty(stdin) else _scripted(shell, stdin)
        shell.say(shell.style.dim("Simulated endpoints end with the shell. `bot audit` shows the record."))
        return 0 if ok else 1
    finally:
        local.stop()


def _scripted(shell: Shell, stdin: TextIO) -> bool:
    """Lines from a pipe or a file: each echoed, then carried out; at the end, queued work finishes."""
    ok = True
    for raw in stdin:
        line = raw.rstrip("\n")
        shell.say(shell.style.dim(f"> {line}"))
        try:
            outcome = shell.run_line(line)
        except StopScript:
            shell.say("Stopping: a wait failed, so the lines after it would not mean what they say.")
            return False
        ok = ok and outcome.ok
        if outcome.quit:
            break
    shell.local.settle(timeout=END_OF_INPUT_WAIT)
    shell.flush()
    return ok


def _interactive(shell: Shell, stdin: TextIO) -> bool:
    """A terminal: a prompt with line editing and history; Slack updates appear as they happen."""
    try:
        import readline  # noqa: F401  (imported for its side effect: input() gains editing and history)
    except ImportError:  # pragma: no cover - Windows without pyreadline
        readline = None  # type: ignore[assignment]

    def prompt() -> str:
        return shell.style.bold(f"{shell.user}> ")

    def typed_so_far() -> str:
        buffer = readline.get_line_buffer() if readline is not None else ""
        return prompt() + buffer

    stop = threading.Event()

    def print_updates() -> None:
        seen = shell.local.calls
        while not stop.wait(0.15):
            calls = shell.local.calls
            if calls != seen and shell.local.quiet_for() >= 0.15 and shell.lock.acquire(blocking=False):
                try:
                    seen = calls
                    shell.flush(prompt=typed_so_far)
                finally:
                    shell.lock.release()

    printer = threading.Thread(target=print_updates, name="shell-printer", daemon=True)
    printer.start()
    ok = True
    try:
        while True:
            try:
                line = input(_readline_safe(prompt()))
            except EOFError:
                shell.say("")
                break
            except KeyboardInterrupt:
                shell.say("")
                continue
            try:
                with shell.lock:
                    outcome = shell.run_line(line)
            except StopScript:
                ok = False
                continue
            except KeyboardInterrupt:
                shell.say("(interrupted)")
                continue
            ok = ok and outcome.ok
            if outcome.quit:
                break
    finally:
        stop.set()
        printer.join(1)
    return ok


def _readline_safe(prompt: str) -> str:
    """Mark colour codes as invisible so that readline computes the prompt's width right."""
    return re.sub(r"(\x1b\[[0-9;]*m)", "\001\\1\002", prompt)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _safe_stdout() -> TextIO:
    """Standard output that never fails on a character the terminal's encoding lacks."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="replace")
    return sys.stdout
