"""The `bot` command line: every subcommand, its options and the function that runs it."""

from __future__ import annotations

import argparse
import re

from bot.cli.policy import cmd_policy_check
from bot.cli.reports import cmd_audit, cmd_digest, cmd_spend
from bot.cli.serve import cmd_run, cmd_tracker
from bot.cli.tools import cmd_doctor, cmd_manifest, cmd_migrate, cmd_shell, cmd_simulator


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bot", description="endpoint-bot: Together AI dedicated endpoints from Slack."
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    shell = sub.add_parser(
        "shell", help="try the whole bot in the terminal: a pretend Slack and a simulated Together"
    )
    shell.add_argument("--user", default="you", help="who you are at the start (default: you)")
    shell.add_argument(
        "--speed",
        type=_positive,
        default=60.0,
        help="how much faster simulated time runs (default 60: an endpoint starts in about 4 seconds)",
    )
    shell.set_defaults(func=cmd_shell)

    run = sub.add_parser(
        "run", help="serve Slack (HTTP, or Socket Mode when SLACK_APP_TOKEN is set) and track endpoints"
    )
    run.add_argument(
        "--no-tracker",
        action="store_true",
        help="do not follow endpoint states in this process (run `bot tracker` beside it)",
    )
    run.add_argument(
        "--simulate",
        action="store_true",
        help="use the built-in Together simulator instead of Together (no TOGETHER_API_KEY, nothing billed)",
    )
    run.add_argument(
        "--speed",
        type=_positive,
        default=10.0,
        help="with --simulate: how much faster simulated time runs (default 10)",
    )
    run.set_defaults(func=cmd_run)

    tracker = sub.add_parser(
        "tracker", help="follow endpoint states, launch approved requests and post updates, without HTTP"
    )
    tracker.set_defaults(func=cmd_tracker)

    simulator = sub.add_parser("simulator", help="serve the Together API simulator alone (v1 and v2)")
    simulator.add_argument("--port", type=int, default=8090, help="port (default 8090; 0 picks a free one)")
    simulator.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    simulator.add_argument(
        "--api-key", default=None, help="accept only this bearer key (default: any non-empty key)"
    )
    simulator.add_argument(
        "--speed", type=_positive, default=1.0, help="how much faster simulated time runs (default 1)"
    )
    simulator.add_argument(
        "--latency",
        type=_not_negative,
        default=0.0,
        metavar="SECONDS",
        help="answer every request this many seconds late, as a slow Together does (default 0)",
    )
    simulator.add_argument(
        "--latency-on",
        type=_regex,
        default=".*",
        metavar="REGEX",
        help="with --latency: only paths matching this regex, e.g. '/v1/hardware' (default: all)",
    )
    simulator.add_argument(
        "--v1-create-disabled",
        action="store_true",
        help="answer v1 creation (and v1 restarts) with 403 endpoints_v1_create_access_disabled, as Together does now",
    )
    simulator.set_defaults(func=cmd_simulator)

    manifest = sub.add_parser("manifest", help="print the Slack app manifest, filled in")
    manifest.add_argument(
        "--url", help="where `bot run` is reachable, e.g. https://bot.example.com (HTTP mode)"
    )
    manifest.add_argument(
        "--socket-mode", action="store_true", help="print the Socket Mode variant (no public URL needed)"
    )
    manifest.set_defaults(func=cmd_manifest)

    doctor = sub.add_parser(
        "doctor", help="check the settings, the Slack token, the Together key and the database"
    )
    doctor.set_defaults(func=cmd_doctor, loads_settings=True)

    policy = sub.add_parser("policy", help="the policy file (BOT_POLICY_FILE)")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True, metavar="COMMAND")
    check = policy_sub.add_parser(
        "check", help="validate a policy file and print what it says (groups, tiers, limits, expiry)"
    )
    check.add_argument("file", nargs="?", help="the TOML file (default: BOT_POLICY_FILE)")
    check.set_defaults(func=cmd_policy_check)

    mig = sub.add_parser("migrate", help="apply database migrations and exit")
    mig.set_defaults(func=cmd_migrate)
    audit = sub.add_parser("audit", help="print who requested, approved, rejected and launched what")
    audit.add_argument("--json", action="store_true", help="one JSON object per launch request")
    audit.set_defaults(func=cmd_audit)
    spend = sub.add_parser(
        "spend", help="what endpoints cost, by endpoint and by person, over the last N days"
    )
    when = spend.add_mutually_exclusive_group()
    when.add_argument("--days", type=_days, default=None, help="how many days back (default 7)")
    when.add_argument("--month", help="one calendar month in BOT_TIMEZONE, as YYYY-MM (e.g. 2026-11)")
    spend.add_argument(
        "--by",
        choices=("person", "channel", "model", "hardware", "endpoint"),
        help="break the cost down by this (the chart's bars too; default person)",
    )
    out = spend.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="as one JSON object")
    out.add_argument(
        "--csv", action="store_true", help="one row per endpoint per day, as CSV on standard output"
    )
    spend.add_argument("--chart", metavar="FILE", help="also write the chart as a PNG to FILE")
    spend.set_defaults(func=cmd_spend)
    digest = sub.add_parser("digest", help="the weekly spend digest (BOT_DIGEST_CHANNEL)")
    digest.add_argument("--now", action="store_true", help="post it now, for the seven days up to now")
    digest.set_defaults(func=cmd_digest)
    return p


def _days(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 3660:
        raise argparse.ArgumentTypeError(f"{value!r}: give a whole number of days, 1 or more (e.g. 30)")
    return int(value)


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return number


def _not_negative(value: str) -> float:
    number = float(value)
    if number < 0:
        raise argparse.ArgumentTypeError("can't be negative")
    return number


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a regular expression: {exc}") from None
    return value
