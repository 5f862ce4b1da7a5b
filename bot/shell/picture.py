"""The README's picture: a launch card and its thread, from the bot's own Block Kit payloads.

    python -m bot.shell.picture              # docs/images/launch.html and launch.png (needs Chromium)
    python -m bot.shell.picture --html       # the HTML only (what the test compares)

It runs a launch through the whole bot as `bot shell` does (the real app, the pretend Slack, the Together
simulator), from `/endpoint create` to STARTED, takes the card and the thread replies the bot posted, and
renders them as a Slack window (bot/sandbox/blockkit_html.py). The bot renders them as it would for a real
v1 workspace: no "simulated" notes, Together's own inference URL in the `curl` example. What changes from
one run to the next (endpoint id and name, dates) is replaced by fixed values, so that the HTML is the same
every time and a test can tell when the picture is stale. The PNG is a headless Chromium screenshot of the
HTML.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.config import load_settings
from bot.sandbox import blockkit_html
from bot.sandbox.driver import DEFAULT_CHANNEL
from bot.sandbox.slack_types import Message
from bot.shell.wiring import start_local
from bot.slack.ids import Block

IMAGES = Path(__file__).resolve().parent.parent.parent / "docs" / "images"
HTML = IMAGES / "launch.html"
PNG = IMAGES / "launch.png"
PNG_SOURCE = IMAGES / "launch.png.sha256"  # the hash of the HTML the PNG was taken from
REQUESTER, APPROVER = "U0ALICE", "U0BOB"
NAMES = {REQUESTER: "alice", APPROVER: "bob", DEFAULT_CHANNEL: "ml-launches"}
WINDOW = (1500, 660)
TOGETHER_INFERENCE = "https://api.together.xyz/v1"
# What differs between runs, and what stands in for it.
FIXED_ID = "endpoint-6b1f0c2e-9d4a-4e7b-8c35-0a2f7d91e4b8"
FIXED_SUFFIX = "6b1f0c2e"
FIXED_DATE = "2026-03-02 09:41 UTC"
# The smoke test's measured timings vary from run to run (the simulator answers in about 10 ms).
FIXED_TIMINGS = "after 0.01 s, complete after 0.01 s"
TIMES = ["9:41 AM", "9:42 AM", "9:42 AM", "9:43 AM", "9:45 AM", "9:45 AM"]


def launch_messages(speed: float = 60.0, timeout: float = 60.0) -> tuple[Message, list[Message]]:
    """Drive a launch to STARTED; the card and its thread replies as the bot left them."""
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            database_url=f"sqlite:///{folder}/picture.db",
            bot_approvers=APPROVER,
            bot_policy_file=None,
            bot_catalog=None,
            together_api="v1",
            bot_log_level="WARNING",
        )
        local = start_local(settings, speed=speed)
        try:
            # As a real workspace shows it (the shell's own renderer marks everything simulated).
            real = dataclasses.replace(local.bot.renderer, simulated=False, inference_url=TOGETHER_INFERENCE)
            local.bot.publisher.renderer = real
            driver, fake = local.driver, local.fake
            driver.command(REQUESTER, "create llama-8b a100 2-5")
            driver.wait_for_view(REQUESTER)
            driver.submit(REQUESTER)
            local.settle()
            driver.click(APPROVER, "Approve")
            driver.wait_for_view(APPROVER)
            driver.set(APPROVER, Block.NOTE, "for the support-bot eval")
            driver.submit(APPROVER)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                (card,) = fake.messages(DEFAULT_CHANNEL)
                replies = fake.replies(DEFAULT_CHANNEL, card.ts)
                if "*STARTED*" in str(card.blocks) and any(
                    "State: *STARTED*" in (r.text or "") for r in replies
                ):
                    local.settle()
                    (card,) = fake.messages(DEFAULT_CHANNEL)
                    return card, fake.replies(DEFAULT_CHANNEL, card.ts)
                time.sleep(0.1)
            raise RuntimeError("the launch did not reach STARTED in time")
        finally:
            local.stop()


def fixed(text: str, ids: dict[str, str]) -> str:
    for changing, stand_in in ids.items():
        text = text.replace(changing, stand_in)
    text = re.sub(r"after \d+\.\d+ s, complete after \d+\.\d+ s", FIXED_TIMINGS, text)
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", FIXED_DATE, text)


def render(card: Message, replies: list[Message]) -> str:
    """The Slack window as HTML, with what changes between runs replaced by fixed values."""
    names = NAMES
    card_html = blockkit_html.message(
        author="endpoint-bot", time=TIMES[0], text=card.text, blocks=card.blocks, names=names
    )
    reply_html = [
        blockkit_html.message(
            author="endpoint-bot",
            time=TIMES[min(i + 1, len(TIMES) - 1)],
            text=r.text,
            blocks=r.blocks,
            names=names,
        )
        for i, r in enumerate(replies)
    ]
    parent = blockkit_html.message(
        author="endpoint-bot",
        time=TIMES[0],
        text=card.text,
        blocks=card.blocks[:1] if card.blocks else None,
        names=names,
    )
    page = blockkit_html.page(
        workspace="Acme ML",
        channel=NAMES[DEFAULT_CHANNEL],
        card=card_html,
        replies=[f'<div class="parent">{parent}</div>', *reply_html],
        reply_count=len(replies),
        thread_title="Launch request #1",
    )
    return fixed(page, _changing_ids(card, replies))


def _changing_ids(card: Message, replies: list[Message]) -> dict[str, str]:
    """The simulator's endpoint id and the random end of its name, to replace with fixed ones."""
    text = str(card.blocks) + "".join(r.text or "" for r in replies)
    ids: dict[str, str] = {}
    for endpoint_id in set(re.findall(r"endpoint-[0-9a-f]{8}-[0-9a-f-]{27}", text)):
        ids[endpoint_id] = FIXED_ID
    for suffix in set(re.findall(r"Turbo-([0-9a-f]{8})\b", text)):
        ids[f"Turbo-{suffix}"] = f"Turbo-{FIXED_SUFFIX}"
    ids["simuser/"] = "acme/"  # the simulator's account name, where Together puts the account's
    return ids


def html_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def html_now() -> str:
    card, replies = launch_messages()
    return render(card, replies)


def screenshot(html_path: Path, png_path: Path) -> None:
    """Capture the HTML with headless Chromium (Debian's `chromium`)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise SystemExit("Chromium is needed for the PNG: apt-get install -y chromium (or use --html).")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                f"--screenshot={png_path}",
                html_path.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
            env={**os.environ, "HOME": profile},
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.shell.picture", description=__doc__.splitlines()[0])
    parser.add_argument("--html", action="store_true", help="write the HTML only (no Chromium needed)")
    args = parser.parse_args(argv)
    IMAGES.mkdir(parents=True, exist_ok=True)
    HTML.write_text(html_now(), encoding="utf-8")
    print(f"wrote {HTML}")
    if not args.html:
        screenshot(HTML, PNG)
        PNG_SOURCE.write_text(html_hash(HTML.read_text(encoding="utf-8")) + "\n", encoding="utf-8")
        print(f"wrote {PNG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
