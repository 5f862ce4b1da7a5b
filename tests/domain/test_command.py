"""The /endpoint grammar and the alias tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.catalog import Catalog, describe_hardware
from bot.domain.command import CreateCommand, HelpCommand, again_command, parse_command, parse_replicas
from bot.domain.cost.estimate import CostEstimate
from bot.domain.errors import InvalidReplicas, UnknownHardware, UnknownModel, UsageError
from bot.domain.model import LaunchDraft

CATALOG = Catalog()


def test_create_with_every_part() -> None:
    cmd = parse_command('create llama-8b a100 2-5 name="team demo" timeout=30', CATALOG)
    assert cmd == CreateCommand(
        model="meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
        hardware="1x_nvidia_a100_80gb_sxm",
        min_replicas=2,
        max_replicas=5,
        display_name="team demo",
        inactive_timeout=30,
    )


def test_single_replica_count_means_min_equals_max() -> None:
    assert parse_replicas("3") == (3, 3)
    assert parse_replicas("2-5") == (2, 5)


@pytest.mark.parametrize("text", ["5-2", "0", "abc", "-1", "2-", "1-65"])
def test_invalid_replicas(text: str) -> None:
    with pytest.raises(InvalidReplicas):
        parse_replicas(text)


def test_missing_parts_are_none() -> None:
    assert parse_command("create", CATALOG) == CreateCommand()
    assert parse_command("create llama-8b", CATALOG) == CreateCommand(
        model="meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
    )
    # A range in second place: the hardware was left out.
    cmd = parse_command("create llama-8b 2-5", CATALOG)
    assert (
        isinstance(cmd, CreateCommand)
        and cmd.hardware is None
        and (cmd.min_replicas, cmd.max_replicas) == (2, 5)
    )


def test_help_forms() -> None:
    for text in ("", "help", "  HELP ", "--help"):
        assert isinstance(parse_command(text, CATALOG), HelpCommand)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("crate", "create"), ("lst", "list"), ("stauts", "status"), ("launch", "create"), ("resume", "start")],
)
def test_a_mistyped_subcommand_gets_did_you_mean_and_that_commands_usage(typed: str, meant: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_command(f"{typed} x", CATALOG)
    message = caught.value.message
    assert message.startswith(f"I don't know the command `{typed}`. Did you mean `{meant}`?")
    assert f"`/endpoint {meant}" in message and message.count("• `/endpoint") == 1


def test_an_unknown_subcommand_names_only_the_commands_the_person_may_use() -> None:
    mine = ["create", "list", "status", "stop", "help"]
    with pytest.raises(UsageError) as caught:
        parse_command("frobnicate", CATALOG, commands=mine)
    assert caught.value.message == (
        "I don't know the command `frobnicate`. The commands are `create`, `list`, `status`, `stop`, `help`: "
        "`/endpoint help` shows each with an example."
    )
    with pytest.raises(UsageError, match=r"\(`delete` is not one of yours.\)") as refused:
        parse_command("delet x", CATALOG, commands=mine)
    assert "/endpoint delete" not in refused.value.message


def test_every_mistake_in_a_create_is_reported_at_once() -> None:
    with pytest.raises(UsageError) as caught:
        parse_command("create lama-8b a10 5-2 color=red timeout=soon", CATALOG)
    message = caught.value.message
    assert message.startswith("5 things to fix in that command:\n")
    for says in (
        "option `color=`",
        "the model `lama-8b`",
        "the hardware `a10`",
        "`5-2`: the minimum",
        "`timeout=soon`",
    ):
        assert says in message
    assert message.count("\n• ") == 5
    with pytest.raises(UnknownModel):  # one mistake keeps its own type (a form field can point at it)
        parse_command("create lama-8b a100 2-5", CATALOG)


def test_unknown_subcommand_and_unclosed_quote() -> None:
    with pytest.raises(UsageError, match="I don't know the command `deploy`"):
        parse_command("deploy x", CATALOG)
    with pytest.raises(UsageError, match="quote is not closed"):
        parse_command('create llama-8b a100 1 name="oops', CATALOG)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("a100", "1x_nvidia_a100_80gb_sxm"),
        ("h100", "1x_nvidia_h100_80gb_sxm"),
        ("H200", "1x_nvidia_h200_140gb_sxm"),
        ("b200", "1x_nvidia_b200_180gb_sxm"),
        ("2xh100", "2x_nvidia_h100_80gb_sxm"),
        ("h100x2", "2x_nvidia_h100_80gb_sxm"),
        ("8x_nvidia_h200_140gb_sxm", "8x_nvidia_h200_140gb_sxm"),
        ("4xb200", "4x_nvidia_b200_180gb_sxm"),
    ],
)
def test_hardware_aliases(word: str, expected: str) -> None:
    assert CATALOG.resolve_hardware(word) == expected


def test_bad_hardware() -> None:
    with pytest.raises(UnknownHardware, match="Did you mean `h100`"):
        CATALOG.resolve_hardware("h10")
    with pytest.raises(UnknownHardware, match="1, 2, 4 or 8 GPUs"):
        CATALOG.resolve_hardware("3xh100")


def test_full_model_id_is_accepted_as_is() -> None:
    assert CATALOG.resolve_model("Qwen/QwQ-32B") == "Qwen/QwQ-32B"
    with pytest.raises(UnknownModel, match="Did you mean `llama-70b`"):
        CATALOG.resolve_model("llama-7b")


def test_catalog_file_overrides_and_extends(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(
        '[models]\nllama-8b = "acme/llama-8b-ft"\nmine = "acme/mine"\n[gpus]\nh100 = "nvidia_h100_80gb_pcie"\n'
    )
    catalog = Catalog.load(path)
    assert catalog.resolve_model("llama-8b") == "acme/llama-8b-ft"
    assert catalog.resolve_model("mine") == "acme/mine"
    assert catalog.resolve_model("qwq-32b") == "Qwen/QwQ-32B"  # built-ins stay
    assert catalog.resolve_hardware("2xh100") == "2x_nvidia_h100_80gb_pcie"
    path.write_text("[models\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        Catalog.load(path)


def test_cost_estimate() -> None:
    estimate = CostEstimate(cents_per_minute=9.0, min_replicas=2, max_replicas=5)
    assert (estimate.at_min, estimate.at_max) == (10.8, 27.0)
    assert estimate.describe() == "$10.80–$27.00/h (2–5 replicas at $5.40/h each)"
    assert CostEstimate(9.0, 1, 1).describe() == "$5.40/h (1 replica)"
    assert CostEstimate(9.0, 3, 3).describe() == "$16.20/h (3 replicas at $5.40/h each)"


def test_every_figure_is_made_from_the_per_replica_price_as_shown() -> None:
    # 1x A100 SXM is 6.67 cents a minute: $4.002/h, shown as $4.00; five of them are $20.00, not $20.01.
    estimate = CostEstimate(6.67, 2, 5)
    assert estimate.describe() == "$8.00–$20.00/h (2–5 replicas at $4.00/h each)"
    for cents in (6.67, 13.15, 19.92, 3.33, 0.01):
        for n in range(1, 65):
            each = CostEstimate(cents, n, n)
            assert f"{each.at_min:.2f}" == f"{round(float(f'{each.each:.2f}') * n, 2):.2f}"
    assert describe_hardware("2x_nvidia_h100_80gb_sxm") == "2x H100 80GB SXM"


@pytest.mark.parametrize(
    ("draft", "typed"),
    [
        (
            LaunchDraft("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", "1x_nvidia_h100_80gb_sxm", 1, 3),
            "/endpoint create llama-8b h100 1-3",
        ),
        (
            LaunchDraft("acme/custom-model", "2x_nvidia_h100_80gb_sxm", 2, 2, "bob's bot", 30),
            "/endpoint create acme/custom-model 2xh100 2 'name=bob'\"'\"'s bot' timeout=30",
        ),
    ],
)
def test_again_command_asks_for_the_same_launch(draft: LaunchDraft, typed: str) -> None:
    """What an expired request's card tells the requester to type: it parses back to the same draft."""
    assert again_command(draft, CATALOG) == typed
    parsed = parse_command(typed.removeprefix("/endpoint "), CATALOG)
    assert isinstance(parsed, CreateCommand)
    assert (parsed.model, parsed.hardware, parsed.min_replicas, parsed.max_replicas) == (
        draft.model,
        draft.hardware,
        draft.min_replicas,
        draft.max_replicas,
    )
    assert parsed.display_name == draft.display_name
