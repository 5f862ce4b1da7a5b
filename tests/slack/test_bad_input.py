"""Typos and wrong values get a clear answer that says what to do; nothing is lost or launched."""

from __future__ import annotations

import json

import pytest

from bot.slack.ids import Block
from tests.support.stack import APPROVER, REQUESTER, Stack

pytestmark = [
    pytest.mark.backend(
        "v1", reason="Slack-side behaviour that does not depend on the Together API; the flow suites cover v2"
    ),
    pytest.mark.usefixtures("stack"),
]


def answer(stack: Stack, text: str) -> str:
    """What the person sees after typing `/endpoint <text>` (an ephemeral message)."""
    before = len(stack.ephemeral_texts(REQUESTER))
    stack.slack.command(REQUESTER, text)
    stack.fake.wait_for("response_url", count=before + 1, timeout=5)
    texts = stack.ephemeral_texts(REQUESTER)
    assert len(texts) == before + 1, texts
    assert stack.slack.view(REQUESTER) is None  # no form for a command that cannot be right
    return texts[-1]


def test_unknown_subcommand_shows_usage(stack: Stack) -> None:
    text = answer(stack, "launch llama-8b a100 2")
    assert "I don't know the command `launch`" in text
    assert "/endpoint create <model> <hardware> <replicas>" in text


def test_a_mistyped_subcommand_gets_did_you_mean_not_the_whole_usage(stack: Stack) -> None:
    text = answer(stack, "crate llama-8b a100 2")
    assert text.startswith("I don't know the command `crate`. Did you mean `create`?")
    assert "`/endpoint create <model>" in text and "/endpoint list" not in text


def test_a_subcommand_with_no_likely_meaning_lists_only_what_the_person_may_use(stack: Stack) -> None:
    text = answer(stack, "frobnicate")
    assert "The commands are `create`, `list`" in text and "`/endpoint help`" in text
    assert "delete" not in text  # the requester is not an approver: no `delete` offered
    assert "Usage" not in text
    refused = answer(stack, "delet llama-8b-r1")
    assert "(`delete` is not one of yours.)" in refused and "/endpoint delete" not in refused
    stack.slack.command(APPROVER, "frobnicate")
    stack.fake.wait_for("response_url", count=3, timeout=5)
    assert "`delete`" in stack.ephemeral_texts(APPROVER)[-1]


def test_every_mistake_in_a_create_is_reported_at_once(stack: Stack) -> None:
    text = answer(stack, "create lama-8b a10 5-2")
    assert text.startswith("3 things to fix in that command:")
    assert "• I don't know the model `lama-8b`." in text and "Did you mean `llama-8b`" in text
    assert "• I don't know the hardware `a10`. Did you mean `a100`" in text
    assert "• `5-2`: the minimum (5) is larger than the maximum (2); did you mean `2-5`?" in text


def test_help_and_empty_command_show_usage(stack: Stack) -> None:
    assert "Usage" in answer(stack, "help")
    assert "Usage" in answer(stack, "")


def test_unknown_model_suggests_closest_aliases(stack: Stack) -> None:
    text = answer(stack, "create lama-8b a100 2-5")
    assert "I don't know the model `lama-8b`" in text
    assert "Did you mean `llama-8b`" in text


def test_full_model_id_without_dedicated_hardware_is_explained(stack: Stack) -> None:
    text = answer(stack, "create acme/not-a-model a100 1")
    assert "no dedicated hardware for the model `acme/not-a-model`" in text


def test_unknown_hardware_lists_gpu_names(stack: Stack) -> None:
    text = answer(stack, "create llama-8b z900 2")
    assert "I don't know the hardware `z900`" in text and "`h100`" in text


def test_hardware_that_does_not_fit_lists_what_fits_with_prices(stack: Stack) -> None:
    text = answer(stack, "create llama-70b a100 1")
    assert "can't run `meta-llama/Llama-3.3-70B-Instruct-Turbo`" in text
    assert "2x_nvidia_h100_80gb_sxm" in text and "/h per replica" in text
    prices = [
        float(line.split("$")[1].split("/")[0].replace(",", "")) for line in text.splitlines() if "$" in line
    ]
    assert prices == sorted(prices)  # cheapest first


@pytest.mark.parametrize(
    ("replicas", "expected"),
    [
        ("5-2", "the minimum (5) is larger than the maximum (2); did you mean `2-5`?"),
        ("0", "at least one replica must run"),
        ("abc", "`abc` is not a replica count"),
        ("0-3", "at least one replica must run"),
        ("2-500", "at most 64 replicas"),
    ],
)
def test_bad_replica_ranges_say_what_a_valid_range_looks_like(
    stack: Stack, replicas: str, expected: str
) -> None:
    text = answer(stack, f"create llama-8b a100 {replicas}")
    assert expected in text
    assert "Replicas look like `2-5`" in text


def test_bad_options_are_explained(stack: Stack) -> None:
    assert "`timeout=soon` is not valid" in answer(stack, "create llama-8b a100 2 timeout=soon")
    assert "I don't know the option `size=`" in answer(stack, "create llama-8b a100 2 size=big")
    assert "Too many words" in answer(stack, "create llama-8b a100 2 my endpoint")


def test_missing_parts_open_the_form_with_those_fields_empty(stack: Stack) -> None:
    stack.slack.command(REQUESTER, "create")
    view = stack.slack.wait_for_view(REQUESTER)
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert "initial_option" not in blocks[Block.MODEL]["element"]
    assert (
        Block.HARDWARE not in blocks and "Choose a model first" in blocks[Block.HARDWARE_HINT]["text"]["text"]
    )
    assert "initial_value" not in blocks[Block.MIN_REPLICAS]["element"]

    # Choosing a model lists the hardware that fits; then the person fills in the rest.
    stack.slack.set(REQUESTER, Block.MODEL, "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo")
    view = stack.slack.view(REQUESTER)
    assert view is not None
    hardware = next(b for b in view["blocks"] if b.get("block_id") == Block.HARDWARE)
    assert {o["value"] for o in hardware["element"]["options"]} >= {"1x_nvidia_h100_80gb_sxm"}
    errors = stack.slack.submit(REQUESTER)
    assert errors is not None and Block.HARDWARE in errors
    stack.slack.set(REQUESTER, Block.HARDWARE, "1x_nvidia_h100_80gb_sxm")
    stack.slack.set(REQUESTER, Block.MIN_REPLICAS, "1")
    stack.slack.set(REQUESTER, Block.MAX_REPLICAS, "3")
    view = stack.slack.view(REQUESTER)
    assert view is not None
    estimate = next(b for b in view["blocks"] if b.get("block_id") == Block.ESTIMATE)["text"]["text"]
    assert "$5.40/h at 1 replica" in estimate and "$16.20/h at 3" in estimate
    assert stack.slack.submit(REQUESTER) is None
    stack.settle()
    assert "1x_nvidia_h100_80gb_sxm" in json.dumps(stack.card().blocks)


def test_min_above_max_in_the_form_is_a_field_error(stack: Stack) -> None:
    stack.slack.command(REQUESTER, "create llama-8b h100 2-5")
    stack.slack.wait_for_view(REQUESTER)
    stack.slack.set(REQUESTER, Block.MIN_REPLICAS, "6")
    errors = stack.slack.submit(REQUESTER)
    assert errors == {Block.MAX_REPLICAS: errors[Block.MAX_REPLICAS]} if errors else False
    assert "larger than the maximum" in errors[Block.MAX_REPLICAS]
    stack.settle()
    assert stack.fake.messages("C0LAUNCH") == []  # nothing was requested


def test_display_name_is_escaped_on_the_card(stack: Stack) -> None:
    stack.slack.command(REQUESTER, 'create llama-8b h100 1 name="<!channel> <https://evil.example|docs>"')
    stack.slack.wait_for_view(REQUESTER)
    assert stack.slack.submit(REQUESTER) is None
    stack.settle()
    card = json.dumps(stack.card().blocks)
    assert "<!channel>" not in card and "&lt;!channel&gt;" in card
    assert "<https://evil.example" not in card


def test_together_down_during_lookup_gets_a_message_not_silence(stack: Stack) -> None:
    stack.sim.inject("GET", r"^/v1/hardware", 503, times=10)
    text = answer(stack, "create llama-8b h100 1")
    assert "couldn't get the hardware list from Together" in text
