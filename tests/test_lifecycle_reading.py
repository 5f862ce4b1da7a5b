"""list, status, hardware, help and history: anyone may use them; endpoints are named however people like."""

from __future__ import annotations

import json

import pytest

from bot.domain.provider import LaunchSpec
from tests.conftest import APPROVER, APPROVER_2, BYSTANDER, REQUESTER, Stack
from tests.lifecycle_helpers import LLAMA_8B, answer, launch, thread_of
from tests.test_cli import run_bot

pytestmark = pytest.mark.backend("v1", reason="not yet converted to the backend matrix (issue 6)")
A100_LAUNCH = "create llama-8b a100 2-5"  # the prices and ids asserted here are a100's


def test_list_shows_each_endpoint_with_its_state_cost_launcher_and_thread(stack: Stack) -> None:
    endpoint = launch(stack, A100_LAUNCH)
    launch(stack, "create llama-70b 2xh100 1", user=APPROVER_2, started=False)
    text = answer(stack, BYSTANDER, "list", "Endpoints")
    assert "*Endpoints launched through the bot* (2)" in text
    first = text.split("\n:")[1]  # one section per endpoint
    assert "*llama-8b-r1* · *STARTED*" in first and endpoint["id"] in first and LLAMA_8B in first
    assert "1x A100 80GB SXM · 2–5 replicas · $8.00–$20.01/h" in first
    assert "launched by <@UREQUESTER>" in first
    card_ts = stack.fake.messages("C0LAUNCH")[0].ts.replace(".", "")
    assert f"<https://sim.slack.com/archives/C0LAUNCH/p{card_ts}|thread>" in first
    assert "*llama-70b-r2* · *PENDING*" in text and "1 replica · $10.80/h" in text


def test_list_mine_and_list_all(stack: Stack) -> None:
    launch(stack, A100_LAUNCH, started=False)
    launch(stack, "create llama-70b 2xh100 1", user=APPROVER_2, started=False)
    outside = stack.bot.provider.create_endpoint(
        LaunchSpec(model=LLAMA_8B, hardware="1x_nvidia_h100_80gb_sxm", min_replicas=1, max_replicas=1)
    )
    mine = answer(stack, REQUESTER, "list mine", "Your endpoints")
    assert "(1)" in mine and "llama-8b-r1" in mine and "llama-70b-r2" not in mine
    assert outside.id not in answer(stack, REQUESTER, "list", "Endpoints")
    everything = answer(stack, REQUESTER, "list all", "Other dedicated endpoints")
    assert "llama-8b-r1" in everything and "llama-70b-r2" in everything
    others = everything.split("Other dedicated endpoints")[1]
    assert "not launched through the bot" in others and outside.id in others and outside.name in others
    assert "llama-8b-r1" not in others
    assert "You have no endpoints" in answer(stack, BYSTANDER, "list mine", "Your endpoints")


def test_status_is_fresh_from_together(stack: Stack) -> None:
    endpoint = launch(stack, A100_LAUNCH)
    stack.sim.force_state(endpoint["id"], "STOPPING")  # the tracker has not looked yet
    text = answer(stack, BYSTANDER, "status llama-8b-r1", "from Together")
    assert "*llama-8b-r1* · *STOPPING* (just now, from Together)" in text
    assert f"name `{endpoint['name']}` (the `model` to call it with)" in text
    assert "2–5 replicas at $4.00/h each: $8.00–$20.01/h while running" in text
    assert "Auto-stop: after 60 idle minutes" in text
    assert "Launched by <@UREQUESTER>, approved by <@UAPPROVER1>" in text
    stack.settle()
    assert "State: *STOPPING*" in thread_of(stack)[-1]  # what status saw is recorded, once
    stack.advance(1)
    assert sum("State: *STOPPING*" in t for t in thread_of(stack)) == 1


def test_status_of_an_endpoint_not_launched_through_the_bot(stack: Stack) -> None:
    outside = stack.bot.provider.create_endpoint(
        LaunchSpec(model=LLAMA_8B, hardware="1x_nvidia_h100_80gb_sxm", min_replicas=1, max_replicas=1)
    )
    text = answer(stack, REQUESTER, f"status {outside.id}", "from Together")
    assert "_Not launched through the bot_" in text and outside.name in text


def test_refs_by_id_name_display_name_or_prefix(stack: Stack) -> None:
    first = launch(stack, A100_LAUNCH, started=False)
    launch(stack, "create llama-70b 2xh100 1", started=False)
    for ref in (
        first["id"],
        first["name"],
        "llama-8b-r1",
        "LLAMA-8B",
        first["id"][:20],
        first["name"].split("/", 1)[1],
    ):
        text = answer(stack, REQUESTER, f'status "{ref}"', "from Together")
        assert "*llama-8b-r1*" in text, ref


def test_ambiguous_ref_lists_the_candidates(stack: Stack) -> None:
    launch(stack, A100_LAUNCH, started=False)
    launch(stack, "create llama-70b 2xh100 1", started=False)
    calls = len(stack.sim.requests)
    text = answer(stack, REQUESTER, "stop llama")
    assert text.startswith("`llama` matches 2 endpoints:")
    assert "• `llama-8b-r1` (`endpoint-" in text and "• `llama-70b-r2` (`endpoint-" in text
    assert "Type more of the name, or the id." in text
    assert len(stack.sim.requests) == calls and stack.slack.view(REQUESTER) is None


def test_unknown_ref_says_so_and_suggests_list(stack: Stack) -> None:
    launch(stack, A100_LAUNCH, started=False)
    for command in ("status mistral", "stop mistral", "scale mistral 2", "history mistral"):
        text = answer(stack, REQUESTER, command)
        assert text.startswith("I don't know an endpoint `mistral`. `/endpoint list` shows"), command


def test_hardware_lists_what_fits_cheapest_first(stack: Stack) -> None:
    stack.sim.set_availability("2x_nvidia_h100_80gb_sxm", "insufficient")
    text = answer(stack, BYSTANDER, "hardware llama-70b", "Hardware")
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    assert (
        lines[0]
        == "• `2x_nvidia_a100_80gb_sxm`: 2× a100-80gb, 80 GB each · $8.00/h · :white_check_mark: available"
    )
    prices = [float(line.split(" · $")[1].split("/h")[0].replace(",", "")) for line in lines]
    assert prices == sorted(prices)
    assert any("2x_nvidia_h100_80gb_sxm" in line and ":warning: insufficient" in line for line in lines)
    assert not any("1x_nvidia_a100" in line for line in lines)  # too small for a 70B model


def test_help_shows_only_the_commands_the_caller_may_use(stack: Stack) -> None:
    anyone = answer(stack, BYSTANDER, "help", "Usage")
    assert "/endpoint delete" not in anyone
    for name in (
        "create",
        "list",
        "status",
        "stop",
        "start",
        "scale",
        "rename",
        "timeout",
        "hardware",
        "history",
    ):
        assert f"e.g. `/endpoint {name} " in anyone, name
    assert "work on the endpoints you asked for" in anyone
    approver = answer(stack, APPROVER, "help", "Usage")
    assert (
        "e.g. `/endpoint delete llama-8b-r1`" in approver
        and "work on the endpoints you asked for" not in approver
    )


def test_history_of_one_endpoint_and_of_everything(stack: Stack) -> None:
    launch(stack, A100_LAUNCH)
    answer(stack, REQUESTER, "scale llama-8b-r1 1-3", "now runs")
    launch(stack, "create llama-70b 2xh100 1", started=False)
    one = answer(stack, BYSTANDER, "history llama-8b", "History")
    lines = one.split("\n")
    assert lines[0] == "*History of llama-8b-r1*"
    assert (
        "<@UREQUESTER> asked for `meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo` on 1x A100 80GB SXM, 2–5 replicas"
        in lines[1]
    )
    assert "<@UAPPROVER1> approved the launch" in lines[2]
    assert "Together moved it STARTING → *STARTED*" in one
    assert "<@UREQUESTER> scaled it to 1–3 replicas" in lines[-1]
    assert "llama-70b" not in one
    everything = answer(stack, BYSTANDER, "history", "Latest activity")
    assert "· llama-8b-r1 · <@UREQUESTER> scaled it" in everything and "· llama-70b-r2 · " in everything


def test_audit_json_lists_every_action_with_who_and_when(stack: Stack) -> None:
    launch(stack, A100_LAUNCH)
    answer(stack, REQUESTER, "timeout llama-8b-r1 15", "on its own")
    answer(stack, APPROVER, "rename llama-8b-r1 prod", "now called")
    result = run_bot("audit", "--json", env={"DATABASE_URL": stack.bot.settings.database_url})
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    acts = [(e["action"], e["actor"]) for e in row["events"] if e["actor"] not in ("bot", "together")]
    assert acts == [
        ("requested", REQUESTER),
        ("approved", APPROVER),
        ("timeout_changed", REQUESTER),
        ("renamed", APPROVER),
    ]
    renamed = row["events"][-1]
    assert renamed["at"].endswith("Z") and renamed["endpoint_id"] == row["endpoint_id"]
    assert renamed["detail"]["display_name"] == "prod" and renamed["detail"]["previous"] == {
        "display_name": "llama-8b-r1"
    }
    assert renamed["detail"]["state"] == "STARTED"  # what Together answered
