"""The `/endpoint` command grammar: text in, a typed command (or a helpful UsageError) out."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from bot.domain.catalog import Catalog
from bot.domain.command_help import ALIASES, unknown_command, usage
from bot.domain.draft import (
    MAX_DISPLAY_NAME,
    MAX_TIMEOUT_MINUTES,
    REPLICAS_HINT,
    PartialDraft,
    check_replicas,
)
from bot.domain.errors import InvalidReplicas, UsageError, UserError
from bot.domain.model import LaunchDraft

T = TypeVar("T")

_RANGE = re.compile(r"^(\d+)\s*[-–—]\s*(\d+)$")
_KEY_VALUE = re.compile(r"^([a-z_]+)=(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class HelpCommand:
    pass


# `create` carries the launch draft as far as it was typed; the form opens with it.
CreateCommand = PartialDraft


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
