"""The README and docs/ as a newcomer reads them: the picture shows what the bot sends now, links work."""

from __future__ import annotations

import re
from pathlib import Path

from bot.shell import picture
from tests.support.paths import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|<img [^>]*src=\"([^\"]+)\"")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
STALE = "run `python -m bot.shell.picture` (Chromium makes the PNG) and commit docs/images/"


def test_the_readme_picture_shows_what_the_bot_sends_now() -> None:
    """The launch card and thread are rendered again from a launch through the bot: same HTML, or stale."""
    assert picture.HTML.read_text(encoding="utf-8") == picture.html_now(), f"the picture is stale: {STALE}"
    # The PNG was taken from this very HTML (the script records the hash of what it captured).
    recorded = picture.PNG_SOURCE.read_text(encoding="utf-8").strip()
    assert recorded == picture.html_hash(picture.HTML.read_text(encoding="utf-8")), (
        f"the PNG is stale: {STALE}"
    )
    assert picture.PNG.read_bytes().startswith(b"\x89PNG")
    assert "docs/images/launch.png" in (ROOT / "README.md").read_text(encoding="utf-8")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, formatting and punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", page.read_text(encoding="utf-8"))):
        base = slug(heading)
        name, n = base, 0
        while name in found:  # a repeated heading gets -1, -2, ...
            n += 1
            name = f"{base}-{n}"
        found.add(name)
    return found


def links(page: Path) -> list[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans are not links
    return [a or b for a, b in _LINK.findall(text)]


def test_every_relative_link_and_anchor_in_the_readme_and_docs_resolves() -> None:
    broken = []
    checked = 0
    for page in PAGES:
        for target in links(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not ours to check
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            checked += 1
            if not file.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no heading #{anchor} in {file.name})")
    assert checked > 10  # the check found the links it is about
    assert not broken, "\n".join(broken)


def test_the_anchor_rule_is_githubs() -> None:
    assert slug("Together's v1 and v2 APIs") == "togethers-v1-and-v2-apis"
    assert slug("`bot doctor`: check the setup") == "bot-doctor-check-the-setup"
    assert slug("Policy file") == "policy-file"


def test_the_readme_is_a_front_door_not_the_manual() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines: move reference material to docs/"
