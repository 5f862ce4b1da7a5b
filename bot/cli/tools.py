"""`bot shell`, `bot simulator`, `bot manifest`, `bot doctor`, `bot migrate`: trying the bot, setting it up and
checking it."""

from __future__ import annotations

import argparse
import sys

from bot.cli.serve import wait_for_shutdown
from bot.config import Settings


def cmd_shell(settings: Settings, args: argparse.Namespace) -> int:
    from bot.shell.main import run_shell

    return run_shell(settings, speed=args.speed, user=args.user)


def cmd_simulator(_settings: Settings, args: argparse.Namespace) -> int:
    from bot.simulator.local import serve_simulator

    server = serve_simulator(
        speed=args.speed,
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        v1_create_enabled=not args.v1_create_disabled,
        latency=args.latency,
        latency_path=args.latency_on,
    )
    slow = (
        f"; answers {args.latency:g} s late" + (f" on {args.latency_on}" if args.latency_on != ".*" else "")
        if args.latency > 0
        else ""
    )
    key = "the key given with --api-key" if args.api_key else "any key"
    v1_note = " (v1 creation disabled, as on current accounts)" if args.v1_create_disabled else ""
    print(
        f"Together simulator: v1 API at {server.url}/v1{v1_note}, v2 API at "
        f"{server.url}/v2/projects/{server.sim.project_id} (whoami: {server.url}/v3/whoami); "
        f"{args.speed:g}x speed{slow}; send Authorization: Bearer <{key}>. Ctrl-C stops it.",
        flush=True,
    )
    try:
        wait_for_shutdown()
    finally:
        server.stop()
    return 0


def cmd_manifest(_settings: Settings, args: argparse.Namespace) -> int:
    from bot.manifest import PLACEHOLDER, ManifestError, render_manifest

    try:
        print(render_manifest(url=args.url, socket_mode=args.socket_mode), end="")
    except ManifestError as exc:
        print(f"bot manifest: {exc}", file=sys.stderr)
        return 2
    if not args.url and not args.socket_mode:  # on standard error: the manifest itself stays pasteable
        print(
            f"bot manifest: no --url given, so the Request URLs are the placeholder {PLACEHOLDER}. Give "
            "`--url https://<where bot run is reachable>`, or use --socket-mode if the bot has no public "
            "address.",
            file=sys.stderr,
        )
    return 0


def cmd_doctor(_settings: Settings | None, _args: argparse.Namespace) -> int:
    from bot.doctor import run_doctor

    return run_doctor()


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.store.db import make_engine, migrate

    migrate(make_engine(settings.database_url))
    print("Database is up to date.")
    return 0
