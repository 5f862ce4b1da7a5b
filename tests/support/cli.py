"""The `bot` command run as an operator runs it: a fresh process, the developer's own settings left out."""

from __future__ import annotations

import os
import subprocess
import sys


def run_bot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TOGETHER_", "DATABASE_URL"))}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=clean, timeout=60
    )
