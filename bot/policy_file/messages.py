"""How a problem in the policy file is told: which table and key, what is wrong, what to write instead."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from bot.config import ConfigError
from bot.policy_file.schema import HELP, KEYS, PROBLEMS, TABLES, TOP_LEVEL_KEYS


class PolicyFileError(ConfigError):
    """The policy file cannot be used; the message lists every problem found."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        if len(problems) == 1:
            message = f"Policy file {path}: {problems[0]}"
        else:
            message = f"Policy file {path} has {len(problems)} problems:" + "".join(
                f"\n  • {p}" for p in problems
            )
        super().__init__(message)


def _shown(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _tier_label(data: Any, index: int) -> str:
    tiers = data.get("tiers") if isinstance(data, dict) else None
    name = None
    if isinstance(tiers, list) and index < len(tiers) and isinstance(tiers[index], dict):
        name = tiers[index].get("name")
    return f"[[tiers]] #{index + 1}" + (f' ("{name}")' if isinstance(name, str) and name else "")


def _split(loc: tuple[Any, ...], data: Any) -> tuple[str, tuple[str, ...], list[Any]]:
    """A pydantic location -> (where in the file, the table's key path, the rest of the location)."""
    if loc and loc[0] == "tiers" and len(loc) > 1 and isinstance(loc[1], int):
        return _tier_label(data, loc[1]), ("tiers",), list(loc[2:])
    if loc and loc[0] in ("limits", "budgets", "groups") and len(loc) > 1:
        return f"[{loc[0]}]", (str(loc[0]),), list(loc[1:])
    return "", (), list(loc)


def describe_error(error: Any, data: Any) -> str:
    where, table, rest = _split(tuple(error["loc"]), data)
    keys = [str(p) for p in rest if isinstance(p, str)]
    items = [p for p in rest if isinstance(p, int)]
    kind = error["type"]
    if kind == "extra_forbidden":
        return unknown_key(where, table, keys[-1] if keys else "?")
    key = keys[0] if keys else (table[0] if table else "")
    place = " ".join(p for p in (where, key) if p) or "the file"
    if items:
        place += f", item {items[-1] + 1}"
    ctx = error.get("ctx") or {}
    if kind == "missing":
        problem = "is missing"
    elif kind == "greater_than":
        problem = f"{_shown(error['input'])} must be more than {ctx.get('gt')}"
    elif kind == "greater_than_equal":
        problem = f"{_shown(error['input'])} must be at least {ctx.get('ge')}"
    elif kind == "less_than_equal":
        problem = f"{_shown(error['input'])} is more than {ctx.get('le')}"
    else:
        problem = f"{_shown(error['input'])} {PROBLEMS.get(kind, error['msg'].lower())}"
    help_key = "groups" if table == ("groups",) else key
    advice = f" Write {HELP[help_key]}." if help_key in HELP else ""
    return f"{place}: {problem}.{advice}"


def unknown_key(where: str, table: tuple[str, ...], key: str) -> str:
    known = KEYS.get(table, [])
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    shown = [TABLES.get(k, k) for k in known]
    text = f"{where}: unknown key `{key}`" if where else f"unknown top-level key `{key}`"
    if close:
        text += f" (did you mean `{TABLES.get(close[0], close[0])}`?)"
    text += ". " + ("Its keys are " if where else "The file's keys are ") + ", ".join(shown) + "."
    if table and key in TOP_LEVEL_KEYS:
        text += (
            f" `{key}` is a top-level key: TOML puts every key written after a [table] header into that "
            "table, so move it above the first [table] header."
        )
    return text
