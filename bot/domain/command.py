"""The `/endpoint` command grammar: text in, a typed command (or a helpful UsageError) out."""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from bot.domain.catalog import Catalog
from bot.domain.errors import InvalidReplicas, UsageError, UserError
from bot.domain.model import LaunchDraft

T = TypeVar("T")

MAX_REPLICAS = 64
MAX_TIMEOUT_MINUTES = 7 * 24 * 60


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

REPLICAS_HINT = f"Replicas look like `2-5` (at least 2, at most 5) or `3` (exactly 3), with 1 ≤ min ≤ max ≤ {MAX_REPLICAS}."

_RANGE = re.compile(r"^(\d+)\s*[-–—]\s*(\d+)$")
_KEY_VALUE = re.compile(r"^([a-z_]+)=(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class HelpCommand:
    pass


@dataclass(frozen=True)
class CreateCommand:
    """`create` with whatever parts were given; None means "ask in the form"."""

    model: str | None = None
    hardware: str | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    display_name: str | None = None
    inactive_timeout: int | None = None


@dataclass(frozen=True)
class ListCommand:
    scope: str = "bot"  # "bot": launched through the bot; "all": and the account's others; "mine"


@dataclass(frozen=True)
class StatusCommand:
    ref: str


@dataclass(frozen=True)
class StopCommand:
    ref: str


@dataclass(frozen=True)
class StartCommand:
    ref: str


@dataclass(frozen=True)
class DeleteCommand:
    ref: str


@dataclass(frozen=True)
class ScaleCommand:
    ref: str
    min_replicas: int
    max_replicas: int


@dataclass(frozen=True)
class RenameCommand:
    ref: str
    display_name: str


@dataclass(frozen=True)
class TimeoutCommand:
    ref: str
    minutes: int


@dataclass(frozen=True)
class HardwareCommand:
    model: str


@dataclass(frozen=True)
class HistoryCommand:
    ref: str | None = None


@dataclass(frozen=True)
class SpendCommand:
    window: str  # one of SPEND_WINDOWS
    by: str | None = None  # one of BREAKDOWNS; None: by endpoint and by person


# `/endpoint spend` windows, as typed.
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
SPEND_WINDOWS = (*WINDOWS, "month", "last-month")
BREAKDOWNS = ("person", "channel", "model", "hardware", "endpoint")
DEFAULT_WINDOW = "7d"


Command = (
    HelpCommand
    | CreateCommand
    | ListCommand
    | StatusCommand
    | StopCommand
    | StartCommand
    | DeleteCommand
    | ScaleCommand
    | RenameCommand
    | TimeoutCommand
    | HardwareCommand
    | HistoryCommand
    | SpendCommand
)
MAX_DISPLAY_NAME = 100


def parse_replicas(text: str) -> tuple[int, int]:
    """`2-5` -> (2, 5); `3` -> (3, 3); anything else -> InvalidReplicas saying what is valid."""
    word = text.strip()
    if m := _RANGE.match(word):
        low, high = int(m.group(1)), int(m.group(2))
    elif word.isdigit():
        low = high = int(word)
    else:
        raise InvalidReplicas(f"`{word}` is not a replica count. {REPLICAS_HINT}", field="replicas")
    check_replicas(low, high, shown=word)
    return low, high


def check_replicas(low: int, high: int, *, shown: str | None = None) -> None:
    what = f"`{shown}`" if shown else f"{low}-{high}"
    if low < 1:
        raise InvalidReplicas(f"{what}: at least one replica must run. {REPLICAS_HINT}", field="min_replicas")
    if low > high:
        raise InvalidReplicas(
            f"{what}: the minimum ({low}) is larger than the maximum ({high}); did you mean `{high}-{low}`? "
            + REPLICAS_HINT,
            field="max_replicas",
        )
    if high > MAX_REPLICAS:
        raise InvalidReplicas(
            f"{what}: at most {MAX_REPLICAS} replicas. {REPLICAS_HINT}", field="max_replicas"
        )


def parse_timeout(text: str) -> int:
    word = text.strip().lower().removesuffix("m").removesuffix("min")
    if not word.isdigit() or int(word) > MAX_TIMEOUT_MINUTES:
        raise UsageError(
            f"`timeout={text}` is not valid: give the idle minutes before auto-stop as a whole number "
            f"from 0 (never stop) to {MAX_TIMEOUT_MINUTES}, e.g. `timeout=60`."
        )
    return int(word)


def parse_command(text: str, catalog: Catalog, *, commands: Sequence[str] | None = None) -> Command:
    """Parse what followed `/endpoint`. Raises UsageError (or a subclass) with a helpful message.

    `commands` are the sub-commands the person may use (default: all), so that a mistake is answered
    with those only.
    """
    try:
        words = shlex.split(text.strip())
    except ValueError:
        raise UsageError(
            'I couldn\'t read that: a quote is not closed. Close it (`name="my endpoint"`) and send it again.'
        ) from None
    if not words or words[0].lower() in ("help", "-h", "--help", "?"):
        return HelpCommand()
    sub, rest = ALIASES.get(words[0].lower(), words[0].lower()), words[1:]
    if sub == "create":
        return _parse_create(rest, catalog)
    if sub in _PARSERS:
        return _PARSERS[sub](rest, catalog)
    raise UsageError(unknown_command(words[0], commands))


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


def _usage_error(name: str, problem: str) -> UsageError:
    return UsageError(f"{problem}\n{usage([name])}")


def _ref(name: str, words: list[str], extra: int = 0) -> str:
    """The endpoint reference in first place; `extra` is how many words must follow it."""
    if not words:
        raise _usage_error(name, f"Say which endpoint to {name}.")
    if len(words) < 1 + extra:
        raise _usage_error(name, "Something is missing.")
    return words[0]


def _only_ref(name: str) -> Callable[[list[str], Catalog], Command]:
    def parse(words: list[str], _catalog: Catalog) -> Command:
        ref = _ref(name, words)
        if len(words) > 1:
            raise _usage_error(
                name,
                f"Too many words: `{' '.join(words[1:])}`. A display name with spaces goes in quotes: "
                f'`/endpoint {name} "my endpoint"`.',
            )
        return _REF_COMMANDS[name](ref)

    return parse


_REF_COMMANDS: dict[str, Callable[[str], Command]] = {
    "status": StatusCommand,
    "stop": StopCommand,
    "start": StartCommand,
    "delete": DeleteCommand,
}


def _parse_list(words: list[str], _catalog: Catalog) -> Command:
    scope = words[0].lower() if words else "bot"
    if len(words) > 1 or scope not in ("bot", "all", "mine"):
        raise _usage_error("list", f"`list {' '.join(words)}`: say `list`, `list all` or `list mine`.")
    return ListCommand(scope)


def _parse_scale(words: list[str], _catalog: Catalog) -> Command:
    ref = _ref("scale", words, extra=1)
    if len(words) > 2:
        raise _usage_error("scale", f"Too many words: `{' '.join(words[2:])}`.")
    low, high = parse_replicas(words[1])
    return ScaleCommand(ref, low, high)


def _parse_rename(words: list[str], _catalog: Catalog) -> Command:
    ref = _ref("rename", words, extra=1)
    name = " ".join(words[1:]).strip()
    if not name:
        raise _usage_error("rename", "Give the new display name.")
    if len(name) > MAX_DISPLAY_NAME:
        raise _usage_error("rename", f"A display name has at most {MAX_DISPLAY_NAME} characters.")
    return RenameCommand(ref, name)


def _parse_timeout(words: list[str], _catalog: Catalog) -> Command:
    ref = _ref("timeout", words, extra=1)
    if len(words) > 2:
        raise _usage_error("timeout", f"Too many words: `{' '.join(words[2:])}`.")
    word = words[1].strip().lower()
    if word in ("off", "never", "none"):
        return TimeoutCommand(ref, 0)
    digits = word.removesuffix("min").removesuffix("m")
    if not digits.isdigit() or int(digits) > MAX_TIMEOUT_MINUTES:
        raise _usage_error(
            "timeout",
            f"`{words[1]}` is not a number of minutes: give a whole number from 0 (never stop) to "
            f"{MAX_TIMEOUT_MINUTES}, e.g. `30`.",
        )
    return TimeoutCommand(ref, int(digits))


def _parse_hardware(words: list[str], catalog: Catalog) -> Command:
    if len(words) != 1:
        raise _usage_error("hardware", "Name one model (an alias such as `llama-8b`, or a full model id).")
    return HardwareCommand(catalog.resolve_model(words[0]))


def _parse_history(words: list[str], _catalog: Catalog) -> Command:
    if len(words) > 1:
        raise _usage_error("history", f"Too many words: `{' '.join(words[1:])}`.")
    return HistoryCommand(words[0] if words else None)


def _parse_spend(words: list[str], _catalog: Catalog) -> Command:
    """`spend [window] [by <breakdown>]`, in either order (`by=model` too)."""
    typed = f"`spend {' '.join(words)}`"
    rest = [w.lower() for w in words]
    by = None
    for i, word in enumerate(rest):
        if word == "by" or word.startswith("by="):
            value = word[3:] if word.startswith("by=") else (rest[i + 1] if i + 1 < len(rest) else "")
            if value not in BREAKDOWNS:
                raise _usage_error(
                    "spend",
                    f"{typed}: say `by person`, `by channel`, `by model`, `by hardware` or `by endpoint`.",
                )
            by = value
            rest = rest[:i] + rest[i + (1 if word.startswith("by=") else 2) :]
            break
    window = rest[0] if len(rest) == 1 else DEFAULT_WINDOW if not rest else ""
    if window not in SPEND_WINDOWS:
        raise _usage_error(
            "spend",
            f"{typed}: say `spend` (the last 7 days), `spend 24h`, `spend 7d`, `spend 30d`, `spend month` "
            "(this calendar month so far) or `spend last-month`, and `by model` (or person, channel, "
            "hardware, endpoint) to break it down.",
        )
    return SpendCommand(window, by)


def _parse_help(_words: list[str], _catalog: Catalog) -> Command:
    return HelpCommand()


_PARSERS: dict[str, Callable[[list[str], Catalog], Command]] = {
    "list": _parse_list,
    "status": _only_ref("status"),
    "stop": _only_ref("stop"),
    "start": _only_ref("start"),
    "delete": _only_ref("delete"),
    "scale": _parse_scale,
    "rename": _parse_rename,
    "timeout": _parse_timeout,
    "hardware": _parse_hardware,
    "history": _parse_history,
    "spend": _parse_spend,
    "help": _parse_help,
}


def _parse_create(words: list[str], catalog: Catalog) -> CreateCommand:
    """Every part is checked, and every mistake reported in one answer: fixing them one by one is slow."""
    problems: list[UserError] = []

    def checked(parse: Callable[[], T]) -> T | None:
        try:
            return parse()
        except UserError as exc:
            problems.append(exc)
            return None

    positional: list[str] = []
    options: dict[str, str] = {}
    for word in words:
        if m := _KEY_VALUE.match(word):
            key = m.group(1).lower()
            if key not in ("name", "timeout"):
                problems.append(
                    UsageError(
                        f"I don't know the option `{m.group(1)}=`. Options are `name=` and `timeout=`."
                    )
                )
                continue
            options[key] = m.group(2)
        else:
            positional.append(word)
    if len(positional) > 3:
        extra = " ".join(positional[3:])
        problems.append(
            UsageError(
                f'Too many words: `{extra}`. A display name with spaces goes in quotes: `name="my endpoint"`.\n'
                + usage(["create"])
            )
        )
    # "create llama-8b 2-5": a replica range in second place means the hardware was left out.
    if len(positional) == 2 and _looks_like_replicas(positional[1]):
        positional = [positional[0], "", positional[1]]
    model_word, hardware_word, replicas_word = (positional + ["", "", ""])[:3]
    model = checked(lambda: catalog.resolve_model(model_word)) if model_word else None
    hardware = checked(lambda: catalog.resolve_hardware(hardware_word)) if hardware_word else None
    replicas = checked(lambda: parse_replicas(replicas_word)) if replicas_word else None
    low, high = replicas if replicas is not None else (None, None)
    name = options.get("name")
    if name is not None:
        name = name.strip() or None
    if name is not None and len(name) > MAX_DISPLAY_NAME:
        problems.append(
            UsageError(
                f"`name=` is {len(name)} characters long; a display name has at most {MAX_DISPLAY_NAME}. "
                'Give a shorter one, e.g. `name="support bot"`, or leave it out for the default.'
            )
        )
    timeout = checked(lambda: parse_timeout(options["timeout"])) if "timeout" in options else None
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise UsageError(all_problems(problems))
    return CreateCommand(model, hardware, low, high, name, timeout)


def all_problems(problems: Sequence[UserError]) -> str:
    """Several mistakes as one answer: each a bullet, its own further lines indented under it."""
    lines = [f"{len(problems)} things to fix in that command:"]
    for problem in problems:
        first, *more = problem.message.split("\n")
        lines.append(f"• {first}")
        lines += [f"   {line}" for line in more]
    return "\n".join(lines)


def again_command(draft: LaunchDraft, catalog: Catalog, default_timeout: int = 60) -> str:
    """The `/endpoint create …` that asks for the same launch again (aliases where there are some)."""
    replicas = (
        str(draft.min_replicas)
        if draft.min_replicas == draft.max_replicas
        else f"{draft.min_replicas}-{draft.max_replicas}"
    )
    words = [
        catalog.alias_for(draft.model) or draft.model,
        catalog.hardware_alias(draft.hardware) or draft.hardware,
        replicas,
    ]
    if draft.display_name:
        words.append(shlex.quote(f"name={draft.display_name}"))
    if draft.inactive_timeout is not None and draft.inactive_timeout != default_timeout:
        words.append(f"timeout={draft.inactive_timeout}")
    return "/endpoint create " + " ".join(words)


def _looks_like_replicas(word: str) -> bool:
    return bool(_RANGE.match(word) or word.isdigit())
