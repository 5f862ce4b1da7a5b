"""The `bot` command: run, tracker, shell, simulator, manifest, doctor, migrate, audit, spend, digest, policy.

Each group of subcommands has its module (serve.py, tools.py, reports.py, policy.py); parser.py maps the
command line to them. Modules are imported when a command needs them, so `bot --help` stays quick.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from bot.cli.parser import parser
from bot.config import ConfigError, Settings, load_settings

__all__ = ["main", "parser"]


def setup_logging(settings: Settings) -> None:
    from bot.logs import setup_logging as setup

    setup(settings.bot_log_level, settings.bot_log_format, settings.secret_values())


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here for output still buffered
    except BrokenPipeError:
        return _reader_left()
    return code


def _reader_left() -> int:
    """The reader of our output went away (`bot spend | head -1`): nothing is wrong, and nothing to say.

    Standard output is pointed at /dev/null so that the flush at interpreter exit does not fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def _main(argv: Sequence[str] | None) -> int:
    commands = parser()
    args = commands.parse_args(argv)
    if args.command is None:  # `bot` alone: what it can do, not an error
        commands.print_help()
        return 0
    if getattr(args, "loads_settings", False):  # reports bad settings itself, as one of its checks
        try:
            return int(args.func(None, args))
        except KeyboardInterrupt:
            return 130
    try:
        settings = load_settings()
        setup_logging(settings)
        return int(args.func(settings, args))
    except ConfigError as exc:
        print(f"bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
