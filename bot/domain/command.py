"""The `/endpoint` command grammar: text in, a typed command (or a helpful UsageError) out."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from bot.domain.catalog import Catalog
from bot.domain.errors import InvalidReplicas, UsageError

MAX_REPLICAS = 64
MAX_TIMEOUT_MINUTES = 7 * 24 * 60

USAGE = (
    "*Usage*\n"
    "• `/endpoint create <model> <hardware> <replicas> [name=<display name>] [timeout=<minutes>]`\n"
    "   e.g. `/endpoint create llama-8b a100 2-5` or `/endpoint create llama-70b 2xh100 1 timeout=30`\n"
    "   `<replicas>` is `min-max` (`2-5`) or one number (`3`, min = max). Leave parts out to fill them "
    "in a form.\n"
    "• `/endpoint help`: this message."
)

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


Command = HelpCommand | CreateCommand


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


def parse_command(text: str, catalog: Catalog) -> Command:
    """Parse what followed `/endpoint`. Raises UsageError (or a subclass) with a helpful message."""
    try:
        words = shlex.split(text.strip())
    except ValueError:
        raise UsageError("I couldn't read that: a quote is not closed.\n" + USAGE) from None
    if not words or words[0].lower() in ("help", "-h", "--help", "?"):
        return HelpCommand()
    sub, rest = words[0].lower(), words[1:]
    if sub != "create":
        raise UsageError(f"I don't know the command `{words[0]}`.\n{USAGE}")
    return _parse_create(rest, catalog)


def _parse_create(words: list[str], catalog: Catalog) -> CreateCommand:
    positional: list[str] = []
    options: dict[str, str] = {}
    for word in words:
        if m := _KEY_VALUE.match(word):
            key = m.group(1).lower()
            if key not in ("name", "timeout"):
                raise UsageError(
                    f"I don't know the option `{m.group(1)}=`. Options are `name=` and `timeout=`."
                )
            options[key] = m.group(2)
        else:
            positional.append(word)
    if len(positional) > 3:
        extra = " ".join(positional[3:])
        raise UsageError(
            f'Too many words: `{extra}`. A display name with spaces goes in quotes: `name="my endpoint"`.\n'
            + USAGE
        )
    # "create llama-8b 2-5": a replica range in second place means the hardware was left out.
    if len(positional) == 2 and _looks_like_replicas(positional[1]):
        positional = [positional[0], "", positional[1]]
    model_word, hardware_word, replicas_word = (positional + ["", "", ""])[:3]
    model = catalog.resolve_model(model_word) if model_word else None
    hardware = catalog.resolve_hardware(hardware_word) if hardware_word else None
    low = high = None
    if replicas_word:
        low, high = parse_replicas(replicas_word)
    name = options.get("name")
    if name is not None:
        name = name.strip() or None
    timeout = parse_timeout(options["timeout"]) if "timeout" in options else None
    return CreateCommand(model, hardware, low, high, name, timeout)


def _looks_like_replicas(word: str) -> bool:
    return bool(_RANGE.match(word) or word.isdigit())
