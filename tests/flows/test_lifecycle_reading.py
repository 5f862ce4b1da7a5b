"""list, status, hardware, help and history: anyone may use them; endpoints are named however people like."""

from __future__ import annotations

import json

from bot.domain.provider import LaunchSpec
from tests.support.cli import run_bot
from tests.support.lifecycle import LLAMA_8B, answer, launch, thread_of
from tests.support.stack import APPROVER, APPROVER_2, BYSTANDER, REQUESTER, Stack

# Each test launches llama-8b on h100 (2-5 replicas unless it says otherwise): $5.40/h per replica on both
# APIs (v1 prices it 9 cents a minute, v2 540 cents an hour), "1x H100 80GB SXM" to people.


def test_list_shows_each_endpoint_with_its_state_cost_launcher_and_thread(stack: Stack) -> None:
    endpoint = launch(stack)
    launch(stack, "create llama-70b 2xh100 1", user=APPROVER_2, started=False)
    text = answer(stack, BYSTANDER, "list", "Endpoints")
    assert "*Endpoints launched through the bot* (2)" in text
    first = text.split("\n:")[1]  # one section per endpoint
    assert f"*llama-8b-r1* · *{stack.backend.started}*" in first
    assert endpoint["id"] in first and LLAMA_8B in first
    assert "1x H100 80GB SXM · 2–5 replicas · $10.80–$27.00/h" in first
    assert "launched by <@UREQUESTER>" in first
    card_ts = stack.fake.messages("C0LAUNCH")[0].ts.replace(".", "")
    assert f"<https://sim.slack.com/archives/C0LAUNCH/p{card_ts}|thread>" in first
    assert f"*llama-70b-r2* · *{stack.backend.start_states[0]}*" in text and "1 replica · $10.80/h" in text


def test_list_mine_and_list_all(stack: Stack) -> None:
    launch(stack, started=False)
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
    endpoint = launch(stack)
    stack.force_state(endpoint["id"], "STOPPING")  # the tracker has not looked yet
    text = answer(stack, BYSTANDER, "status llama-8b-r1", "from Together")
    assert "*llama-8b-r1* · *STOPPING* (just now, from Together)" in text
    assert f"name `{endpoint['name']}` (the `model` to call it with)" in text
    assert "2–5 replicas at $5.40/h each: $10.80–$27.00/h while running" in text
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
    first = launch(stack, started=False)
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
    launch(stack, started=False)
    launch(stack, "create llama-70b 2xh100 1", started=False)
    calls = len(stack.sim.requests)
    text = answer(stack, REQUESTER, "stop llama")
    assert text.startswith("`llama` matches 2 endpoints:")
    prefix = stack.backend.id_prefix
    assert f"• `llama-8b-r1` (`{prefix}" in text and f"• `llama-70b-r2` (`{prefix}" in text
    assert "Type more of the name, or the id." in text
    assert len(stack.sim.requests) == calls and stack.slack.view(REQUESTER) is None


def test_unknown_ref_says_so_and_suggests_list(stack: Stack) -> None:
    launch(stack, started=False)
    for command in ("status mistral", "stop mistral", "scale mistral 2", "history mistral"):
        text = answer(stack, REQUESTER, command)
        assert text.startswith("I don't know an endpoint `mistral`. `/endpoint list` shows"), command


# The cheapest hardware for llama-70b on each API (v2 has no A100 or L40S), and how short capacity of
# 2x H200 is arranged and shown: v1 says "insufficient"; v2's headroom 0 in every region is "unavailable".
CHEAPEST_FOR_70B = {
    "v1": "• `2x_nvidia_a100_80gb_sxm`: 2× a100-80gb, 80 GB each · $8.00/h · :white_check_mark: available",
    "v2": "• `2x_nvidia_h100_80gb_sxm`: 2× h100-80gb, 80 GB each · $10.80/h · :white_check_mark: available",
}
SHORT_OF_2X_H200 = {
    "v1": (
        lambda sim: sim.set_availability("2x_nvidia_h200_140gb_sxm", "insufficient"),
        ":warning: insufficient",
    ),
    "v2": (lambda sim: sim.set_headroom("2xnvidia-h200-141gb", 0), ":x: unavailable"),
}


def test_hardware_lists_what_fits_cheapest_first(stack: Stack) -> None:
    make_short, shown = SHORT_OF_2X_H200[stack.backend.name]
    make_short(stack.sim)
    text = answer(stack, BYSTANDER, "hardware llama-70b", "Hardware")
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    assert lines[0] == CHEAPEST_FOR_70B[stack.backend.name]
    prices = [float(line.split(" · $")[1].split("/h")[0].replace(",", "")) for line in lines]
    assert prices == sorted(prices)
    (short,) = [line for line in lines if "2x_nvidia_h200_140gb_sxm" in line]
    assert short.endswith(f"· $15.78/h · {shown}")
    assert sum(":white_check_mark: available" in line for line in lines) == len(lines) - 1
    assert not any("1x_nvidia_h100" in line for line in lines)  # too small for a 70B model


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
        "timeout",
        "hardware",
        "history",
    ):
        assert f"e.g. `/endpoint {name} " in anyone, name
    # v2 cannot rename an endpoint, so help leaves rename out there
    assert ("e.g. `/endpoint rename " in anyone) is (stack.backend.name == "v1")
    assert "work on the endpoints you asked for" in anyone
    approver = answer(stack, APPROVER, "help", "Usage")
    assert (
        "e.g. `/endpoint delete llama-8b-r1`" in approver
        and "work on the endpoints you asked for" not in approver
    )


def test_history_of_one_endpoint_and_of_everything(stack: Stack) -> None:
    launch(stack)
    # Min unchanged, so that it keeps running as is (v2 reports a scale-down as SCALING, a later entry).
    answer(stack, REQUESTER, "scale llama-8b-r1 2-4", "now runs")
    launch(stack, "create llama-70b 2xh100 1", started=False)
    one = answer(stack, BYSTANDER, "history llama-8b", "History")
    lines = one.split("\n")
    assert lines[0] == "*History of llama-8b-r1*"
    assert (
        "<@UREQUESTER> asked for `meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo` on 1x H100 80GB SXM, 2–5 replicas"
        in lines[1]
    )
    assert "<@UAPPROVER1> approved the launch" in lines[2]
    _, starting, started = stack.backend.start_states
    assert f"Together moved it {starting} → *{started}*" in one
    assert "<@UREQUESTER> scaled it to 2–4 replicas" in lines[-1]
    assert "llama-70b" not in one
    everything = answer(stack, BYSTANDER, "history", "Latest activity")
    assert "· llama-8b-r1 · <@UREQUESTER> scaled it" in everything and "· llama-70b-r2 · " in everything


def test_audit_json_lists_every_action_with_who_and_when(stack: Stack) -> None:
    launch(stack)
    answer(stack, REQUESTER, "timeout llama-8b-r1 45", "on its own")
    answer(stack, APPROVER, "scale llama-8b-r1 2-4", "now runs")  # min unchanged: it keeps running as is
    result = run_bot("audit", "--json", env={"DATABASE_URL": stack.bot.settings.database_url})
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    acts = [(e["action"], e["actor"]) for e in row["events"] if e["actor"] not in ("bot", "together")]
    assert acts == [
        ("requested", REQUESTER),
        ("approved", APPROVER),
        ("timeout_changed", REQUESTER),
        ("scaled", APPROVER),
    ]
    (timeout,) = [e for e in row["events"] if e["action"] == "timeout_changed"]
    assert timeout["detail"]["inactive_timeout"] == 45
    assert timeout["detail"]["previous"] == {"inactive_timeout": 60}  # the default both APIs apply
    scaled = row["events"][-1]
    assert scaled["at"].endswith("Z") and scaled["endpoint_id"] == row["endpoint_id"]
    assert (scaled["detail"]["min_replicas"], scaled["detail"]["max_replicas"]) == (2, 4)
    assert scaled["detail"]["previous"] == {"min_replicas": 2, "max_replicas": 5}
    assert scaled["detail"]["state"] == stack.backend.started  # what Together answered
