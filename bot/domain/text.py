"""Words the domain's messages share: how a person is named, and a counted noun."""

from __future__ import annotations


def mention(user_id: str) -> str:
    """A Slack user id as a mention (`<@U123>`), the one way the domain names a person."""
    return f"<@{user_id}>"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")
