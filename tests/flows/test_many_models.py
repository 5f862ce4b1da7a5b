"""Any number of models: 150 aliases in BOT_CATALOG, and the backend's whole dedicated catalogue, in the form.

Issue 10, item 5: with more than 100 aliases, `/endpoint create` crashed for a model past the 100th option
(a static menu holds 100). The model menu now searches as the person types, answered from memory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.catalog import Catalog
from bot.domain.directory import ModelDirectory
from bot.simulator.catalog import DEDICATED_MODEL_IDS
from bot.slack.ids import Block
from tests.support.lifecycle import launch
from tests.support.stack import REQUESTER, Stack

ALIASES = 150
# Models both simulated APIs run on one H100 (`/endpoint create <alias> h100 1`).
RUNNABLE = [
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
    "Qwen/Qwen3.5-9B-FP8",
    "Qwen/QwQ-32B",
    "mistralai/Mistral-7B-Instruct-v0.3",
    "openai/gpt-oss-20b",
    "openai/gpt-oss-120b",
]


def alias(n: int) -> str:
    return f"team-model-{n:03d}"


def model_of(n: int) -> str:
    return RUNNABLE[n % len(RUNNABLE)]


@pytest.fixture
def stack_settings(tmp_path: Path) -> dict[str, object]:
    lines = ["[models]"] + [f'"{alias(n)}" = "{model_of(n)}"' for n in range(ALIASES)]
    path = tmp_path / "catalog.toml"
    path.write_text("\n".join(lines) + "\n")
    return {"bot_catalog": path}


def test_any_of_150_aliases_launches_from_the_command(stack: Stack) -> None:
    launched = []
    for n in (0, 99, 100, 149):  # across the range, past the 100th
        endpoint = launch(stack, f"create {alias(n)} {stack.backend.hardware} 1", started=False)
        launched.append(endpoint)
    creates = [r.json for r in stack.sim.requests if r.method == "POST" and r.json and "model" in r.json]
    requests = sorted(stack.bot.store.requests(), key=lambda r: r.id)
    assert [r.draft.model for r in requests] == [model_of(n) for n in (0, 99, 100, 149)]
    assert len(launched) == 4 and stack.creates() == 4, creates


def test_the_form_finds_a_model_past_the_100th_alias_by_searching(stack: Stack) -> None:
    stack.slack.command(REQUESTER, "create")
    stack.slack.wait_for_view(REQUESTER)
    everything = stack.slack.options(REQUESTER, Block.MODEL, "")
    assert len(everything) == 100  # as many as Slack shows; typing narrows them
    assert [o["value"] for o in stack.slack.options(REQUESTER, Block.MODEL, alias(142))] == [model_of(142)]

    stack.slack.set(REQUESTER, Block.MODEL, model_of(142))
    view = stack.slack.view(REQUESTER)
    assert view is not None
    hardware = next(b for b in view["blocks"] if b.get("block_id") == Block.HARDWARE)["element"]["options"]
    stack.slack.set(REQUESTER, Block.HARDWARE, hardware[0]["value"])
    stack.slack.set(REQUESTER, Block.MIN_REPLICAS, "1")
    stack.slack.set(REQUESTER, Block.MAX_REPLICAS, "1")
    assert stack.slack.submit(REQUESTER) is None
    (request,) = stack.bot.store.requests()
    assert request.draft.model == model_of(142)


def test_a_command_prefills_an_alias_past_the_100th(stack: Stack) -> None:
    stack.slack.command(REQUESTER, f"create {alias(149)} {stack.backend.hardware} 1-2")
    view = stack.slack.wait_for_view(REQUESTER)
    model = next(b for b in view["blocks"] if b.get("block_id") == Block.MODEL)["element"]
    assert model["type"] == "external_select"
    # The catalogue's first alias of a model names it (team-model-000 and -149 share one here).
    assert model["initial_option"]["value"] == model_of(149)


def test_the_menu_lists_the_backends_whole_catalogue_not_only_aliases(stack: Stack) -> None:
    quiet = ModelDirectory(
        Catalog(models={"llama-8b": RUNNABLE[0]}), stack.bot.provider, on_stale=lambda: None
    )
    assert quiet.search("deepseek") == []  # nothing listed yet, and no alias says deepseek
    directory = ModelDirectory(Catalog(models={"llama-8b": RUNNABLE[0]}), stack.bot.provider)
    assert directory.refresh() >= len(DEDICATED_MODEL_IDS) - 1
    found = [c.model for c in directory.search("deepseek")]
    assert found == ["deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-V3"]
    (typed,) = directory.search("my-org/My-Fine-Tune")
    assert (
        typed.as_typed and typed.model == "my-org/My-Fine-Tune"
    )  # a full id nobody lists is offered as typed


def test_a_model_id_longer_than_any_together_has_is_refused_before_the_form(stack: Stack) -> None:
    stack.slack.command(REQUESTER, f"create org/{'m' * 200} {stack.backend.hardware} 1")
    told = stack.slack.wait_for_ephemeral(REQUESTER, "characters long")
    assert "at most 150" in told and stack.slack.view(REQUESTER) is None
