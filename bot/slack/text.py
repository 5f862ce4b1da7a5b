"""Text helpers for mrkdwn: escaping what people typed, mentions built from ids."""

from __future__ import annotations


def escape(text: str | None) -> str:
    """Neutralise `<!channel>`, `<@U…>`, `<http://…|…>` and friends in user-supplied text (Slack's three escapes)."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


def code(text: str | None) -> str:
    """Inline code for ids and names; backticks inside would end it, so they are replaced."""
    return "`" + escape(text or "").replace("`", "'") + "`"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
