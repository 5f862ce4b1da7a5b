"""`bot manifest`: the Slack app manifest (manifest.yml at the project root), filled in.

The file is edited as text, not parsed and re-dumped, so that its comments reach the person pasting it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

MANIFEST_PATH = Path(__file__).resolve().parent.parent / "manifest.yml"
PLACEHOLDER = "https://bot.example.com/slack/events"
HTTP_ONLY = "# HTTP only"
EVENTS_PATH = "/slack/events"


class ManifestError(Exception):
    """The URL given cannot be used, or the manifest file is missing."""


def events_url(url: str) -> str:
    """The Request URL Slack must call, from the bot's base address (or the full events URL)."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.netloc:
        raise ManifestError(
            f"--url must be the https:// address where `bot run` is reachable (got {url!r}); "
            "Slack only calls HTTPS. Without a public address, use --socket-mode."
        )
    path = parts.path.rstrip("/")
    if not path.endswith(EVENTS_PATH):
        path += EVENTS_PATH
    return f"https://{parts.netloc}{path}"


def render_manifest(*, url: str | None = None, socket_mode: bool = False, text: str | None = None) -> str:
    """manifest.yml with the Request URL filled in, or turned into the Socket Mode variant."""
    if text is None:
        if not MANIFEST_PATH.is_file():
            raise ManifestError(f"{MANIFEST_PATH} not found; install with `pip install -e .` from a checkout")
        text = MANIFEST_PATH.read_text(encoding="utf-8")
    if socket_mode and url:
        raise ManifestError("give --url (HTTP mode) or --socket-mode, not both")
    if socket_mode:
        lines = [line for line in text.splitlines() if not line.rstrip().endswith(HTTP_ONLY)]
        text = "\n".join(lines) + "\n"
        return text.replace("socket_mode_enabled: false", "socket_mode_enabled: true")
    if url:
        text = text.replace(PLACEHOLDER, events_url(url))
    return text
