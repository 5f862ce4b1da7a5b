"""Text helpers for mrkdwn: escaping what people typed, mentions built from ids."""

from __future__ import annotations

from bot.domain.text import mention  # one way to name a person, shared with the domain's messages

__all__ = ["SECTION_FIELD_TEXT", "SECTION_TEXT", "code", "escape", "fit", "fit_lines", "mention", "truncate"]

# What Slack accepts in one section block's text, and in one field of it (characters, after escaping):
# https://docs.slack.dev/reference/block-kit/blocks/section-block
SECTION_TEXT = 3000
SECTION_FIELD_TEXT = 2000


def escape(text: str | None) -> str:
    """Neutralise `<!channel>`, `<@U…>`, `<http://…|…>` and friends in user-supplied text (Slack's three escapes)."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str | None) -> str:
    """Inline code for ids and names; backticks inside would end it, so they are replaced."""
    return "`" + escape(text or "").replace("`", "'") + "`"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit(text: str | None, limit: int) -> str:
    """`text` escaped for mrkdwn and cut with "…" so that the escaped result has at most `limit` characters.

    Slack measures a block's text after escaping (`<` is four characters, `&lt;`), so cutting before
    escaping is not enough; and a cut never splits an escape in two.
    """
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    if limit <= 0:
        return ""
    out: list[str] = []
    size = 0
    for char in text or "":
        piece = escape(char)
        if size + len(piece) > limit - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + "…"


def fit_lines(lines: list[str], limit: int, more: str, *, hidden: int = 0) -> str:
    """As many whole `lines` as fit in `limit` characters (joined by newlines, already escaped), then a line
    `more` with `{n}` replaced by how many were left out (plus `hidden`, those never given), if any were."""
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        left = len(lines) - index - 1 + hidden
        tail = len(more.format(n=left + 1)) + 1
        if size + len(line) + (tail if left else 0) > limit:
            break
        kept.append(line)
        size += len(line) + 1
    missing = len(lines) - len(kept) + hidden
    if missing:
        kept.append(more.format(n=missing))
    return truncate("\n".join(kept), limit)
