"""What `/endpoint help` says: each sub-command with its syntax and an example, and the answer to a
command word nobody knows."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class CommandHelp:
    """One `/endpoint` sub-command as `help` shows it."""

    name: str
    syntax: str
    example: str
    what: str


COMMANDS: tuple[CommandHelp, ...] = (
    CommandHelp(
        "create",
        "create <model> <hardware> <replicas> [name=<display name>] [timeout=<minutes>]",
        "create llama-8b h100 2-5",
        "ask for a new endpoint (opens a form; an approver launches it). `<replicas>` is `min-max` or one "
        "number; leave parts out to fill them in the form. `h100` works on Together's v1 and v2 APIs; "
        "`hardware <model>` lists what your account offers",
    ),
    CommandHelp("list", "list [all|mine]", "list mine", "the endpoints launched through the bot"),
    CommandHelp("status", "status <endpoint>", "status llama-8b-r1", "one endpoint, fresh from Together"),
    CommandHelp("stop", "stop <endpoint>", "stop llama-8b-r1", "stop it (asks first); billing pauses"),
    CommandHelp("start", "start <endpoint>", "start llama-8b-r1", "start a stopped endpoint again"),
    CommandHelp("scale", "scale <endpoint> <min-max>", "scale llama-8b-r1 1-3", "change the replica range"),
    CommandHelp(
        "rename", "rename <endpoint> <display name>", "rename llama-8b-r1 support-bot", "new display name"
    ),
    CommandHelp(
        "timeout",
        "timeout <endpoint> <minutes>",
        "timeout llama-8b-r1 30",
        "auto-stop after that many idle minutes (0: never)",
    ),
    CommandHelp("delete", "delete <endpoint>", "delete llama-8b-r1", "delete it for good (asks first)"),
    CommandHelp(
        "hardware", "hardware <model>", "hardware llama-70b", "the hardware that fits, cheapest first"
    ),
    CommandHelp("history", "history [<endpoint>]", "history llama-8b-r1", "who did what, and when"),
    CommandHelp(
        "spend",
        "spend [24h|7d|30d|month|last-month] [by person|channel|model|hardware|endpoint]",
        "spend month by model",
        "what endpoints cost over the last day, week (the default) or 30 days, this or last calendar month; "
        "by endpoint and by person, or broken down as you say, with a chart and a CSV in your DM with the bot",
    ),
    CommandHelp("help", "help", "help", "this message"),
)
COMMANDS_BY_NAME = {c.name: c for c in COMMANDS}
REF_HINT = "`<endpoint>` is its id, its Together name, its display name, or the start of any of them."


def usage(names: list[str] | None = None) -> str:
    """Usage lines with an example each, for `names` (default: every command)."""
    chosen = [COMMANDS_BY_NAME[n] for n in names] if names is not None else list(COMMANDS)
    lines = ["*Usage*"]
    for c in chosen:
        lines.append(f"• `/endpoint {c.syntax}`: {c.what}.")
        if c.example != c.syntax:
            lines.append(f"   e.g. `/endpoint {c.example}`")
    if any("<endpoint>" in c.syntax for c in chosen):
        lines.append(REF_HINT)
    return "\n".join(lines)


USAGE = usage()


ALIASES = {"ls": "list", "get": "status", "show": "status", "rm": "delete", "gpus": "hardware"}
# Words people reach for that are not commands here, and the command that does what they mean.
MEANT = {
    "launch": "create",
    "deploy": "create",
    "new": "create",
    "run": "create",
    "add": "create",
    "up": "start",
    "resume": "start",
    "restart": "start",
    "pause": "stop",
    "halt": "stop",
    "down": "stop",
    "remove": "delete",
    "destroy": "delete",
    "info": "status",
    "describe": "status",
    "resize": "scale",
    "log": "history",
    "logs": "history",
    "audit": "history",
    "cost": "spend",
    "costs": "spend",
    "gpu": "hardware",
}


def unknown_command(word: str, commands: Sequence[str] | None = None) -> str:
    """`I don't know the command `crate`. Did you mean `create`?` with that command's usage; without a
    likely one, the names of the commands the person may use (not the whole usage)."""
    allowed = [c for c in (commands if commands is not None else COMMANDS_BY_NAME) if c in COMMANDS_BY_NAME]
    typed = word.lower()
    guess = MEANT.get(typed) or next(
        iter(difflib.get_close_matches(typed, list(COMMANDS_BY_NAME) + list(ALIASES), n=1, cutoff=0.6)), None
    )
    guess = ALIASES.get(guess, guess) if guess else None
    head = f"I don't know the command `{word}`."
    if guess is not None and guess in allowed:
        return f"{head} Did you mean `{guess}`?\n{usage([guess])}"
    names = ", ".join(f"`{c}`" for c in allowed)
    if guess is not None:  # a command this person may not use: name it, without its usage
        return (
            f"{head} (`{guess}` is not one of yours.) Your commands are {names}: `/endpoint help` shows each."
        )
    return f"{head} The commands are {names}: `/endpoint help` shows each with an example."
