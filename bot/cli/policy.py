"""`bot policy check`: validate a policy file and print what it says."""

from __future__ import annotations

import argparse
import sys

from bot.config import Settings


def cmd_policy_check(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.domain.catalog import Catalog
    from bot.domain.errors import UserError
    from bot.policy_file import PolicyFileError, load_policy, summary

    path = Path(args.file) if args.file else settings.bot_policy_file
    if path is None:
        print(
            "bot policy check: name the file (`bot policy check policy.toml`) or set BOT_POLICY_FILE.",
            file=sys.stderr,
        )
        return 2
    try:
        catalog = Catalog.load(settings.bot_catalog)
        policy = load_policy(path, catalog=catalog, approvers=settings.approvers, admins=settings.admins)
    except PolicyFileError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except UserError as exc:  # BOT_CATALOG, which the policy's aliases resolve against
        print(f"bot policy check: {exc.message}", file=sys.stderr)
        return 2
    print(f"Policy file {path} is valid.")
    if settings.approvers or settings.admins:
        print("BOT_APPROVERS and BOT_ADMINS from the environment are added to its approvers and admins.")
    print()
    print(summary(policy))
    return 0
