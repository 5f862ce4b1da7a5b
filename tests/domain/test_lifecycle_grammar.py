"""The `/endpoint` sub-commands for running endpoints: what people type, and what they are told when it is wrong."""

from __future__ import annotations

import pytest

from bot.domain.catalog import Catalog
from bot.domain.command import (
    DeleteCommand,
    HardwareCommand,
    HistoryCommand,
    ListCommand,
    RenameCommand,
    ScaleCommand,
    SpendCommand,
    StartCommand,
    StatusCommand,
    StopCommand,
    TimeoutCommand,
    parse_command,
)
from bot.domain.command_help import usage
from bot.domain.errors import InvalidReplicas, UnknownModel, UsageError

CATALOG = Catalog()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("list", ListCommand("bot")),
        ("ls all", ListCommand("all")),
        ("list MINE", ListCommand("mine")),
        ("status llama-8b-r1", StatusCommand("llama-8b-r1")),
        ("get endpoint-1", StatusCommand("endpoint-1")),
        ('stop "my endpoint"', StopCommand("my endpoint")),
        ("start llama", StartCommand("llama")),
        ("rm llama", DeleteCommand("llama")),
        ("scale llama 2-5", ScaleCommand("llama", 2, 5)),
        ("scale llama 3", ScaleCommand("llama", 3, 3)),
        ("rename llama support bot", RenameCommand("llama", "support bot")),
        ('rename "old name" "new name"', RenameCommand("old name", "new name")),
        ("timeout llama 30", TimeoutCommand("llama", 30)),
        ("timeout llama 45m", TimeoutCommand("llama", 45)),
        ("timeout llama never", TimeoutCommand("llama", 0)),
        ("hardware llama-8b", HardwareCommand("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo")),
        ("history", HistoryCommand(None)),
        ("history llama", HistoryCommand("llama")),
    ],
)
def test_commands_parse(text: str, expected: object) -> None:
    assert parse_command(text, CATALOG) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("stop", "Say which endpoint to stop"),
        ("status", "Say which endpoint to status"),
        ("stop my endpoint", 'goes in quotes: `/endpoint stop "my endpoint"`'),
        ("scale llama", "Something is missing"),
        ("rename llama", "Something is missing"),
        ("timeout llama soon", "`soon` is not a number of minutes"),
        ("list everything", "say `list`, `list all` or `list mine`"),
        ("hardware", "Name one model"),
        ("history a b", "Too many words"),
    ],
)
def test_mistakes_are_explained_with_that_commands_usage(text: str, says: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_command(text, CATALOG)
    name = text.split()[0]
    assert says in caught.value.message
    assert f"`/endpoint {name}" in caught.value.message  # the usage line of that command


def test_scale_range_is_checked_like_a_launch() -> None:
    with pytest.raises(InvalidReplicas, match="did you mean `2-5`"):
        parse_command("scale llama 5-2", CATALOG)


def test_hardware_of_unknown_model_suggests_aliases() -> None:
    with pytest.raises(UnknownModel, match="Did you mean `llama-8b`"):
        parse_command("hardware lama-8b", CATALOG)


def test_usage_has_an_example_per_command() -> None:
    text = usage()
    for name in (
        "create",
        "list",
        "status",
        "stop",
        "start",
        "scale",
        "rename",
        "timeout",
        "delete",
        "hardware",
    ):
        assert f"e.g. `/endpoint {name} " in text
    assert "history" in text and "help" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spend", SpendCommand("7d")),
        ("spend 30d", SpendCommand("30d")),
        ("spend month by model", SpendCommand("month", "model")),
        ("spend by channel last-month", SpendCommand("last-month", "channel")),
        ("spend BY Person", SpendCommand("7d", "person")),
        ("spend 24h by=hardware", SpendCommand("24h", "hardware")),
        ("spend by endpoint", SpendCommand("7d", "endpoint")),
    ],
)
def test_spend_windows_and_breakdowns(text: str, expected: SpendCommand) -> None:
    assert parse_command(text, CATALOG) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("spend 30d by", "`spend 30d by`: say `by person`"),
        ("spend by team", "`spend by team`: say `by person`, `by channel`, `by model`, `by hardware` or"),
        ("spend 2w", "`spend 2w`: say `spend` (the last 7 days)"),
        ("spend 7d 30d", "`spend 7d 30d`: say `spend` (the last 7 days)"),
    ],
)
def test_bad_spend_words_say_what_to_type(text: str, says: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_command(text, CATALOG)
    assert caught.value.message.startswith(says)
