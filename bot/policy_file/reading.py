"""Reading the policy file: TOML, then its shape, then its meaning (see builder.py)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.config import Settings
from bot.domain.catalog import Catalog
from bot.domain.policy.tiers import LaunchPolicy
from bot.policy_file.builder import Builder
from bot.policy_file.messages import PolicyFileError, describe_error
from bot.policy_file.schema import PolicyTable


def read_policy_file(path: Path) -> tuple[PolicyTable, dict[str, Any]]:
    """The file's tables, shape checked; PolicyFileError listing every problem otherwise."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyFileError(
            path, ["the file does not exist. Check BOT_POLICY_FILE (a path to a TOML file)."]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyFileError(path, [f"cannot be read ({type(exc).__name__}: {exc})."]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyFileError(
            path,
            [
                f"not valid TOML: {exc}. Check that line: text goes in double quotes, lists in [ ], and "
                "each key once per table."
            ],
        ) from None
    try:
        return PolicyTable.model_validate(data), data
    except ValidationError as exc:
        raise PolicyFileError(path, [describe_error(e, data) for e in exc.errors()]) from None


def load_policy(
    path: Path,
    *,
    catalog: Catalog,
    approvers: Iterable[str] = (),
    admins: Iterable[str] = (),
) -> LaunchPolicy:
    """The policy in `path`, with BOT_APPROVERS and BOT_ADMINS (`approvers`, `admins`) added to its own."""
    table, _data = read_policy_file(path)
    return Builder(table, catalog, str(path)).build(set(approvers), set(admins))


def policy_from_settings(settings: Settings, catalog: Catalog) -> LaunchPolicy:
    """The policy in force: the file BOT_POLICY_FILE names, or BOT_APPROVERS/BOT_ADMINS alone."""
    if settings.bot_policy_file is None:
        policy = LaunchPolicy.from_environment(settings.approvers, settings.admins)
    else:
        policy = load_policy(
            settings.bot_policy_file, catalog=catalog, approvers=settings.approvers, admins=settings.admins
        )
    return replace(policy, scale_without_approval=settings.bot_scale_without_approval)
