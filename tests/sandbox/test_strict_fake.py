"""The fake Slack refuses what Slack refuses, and answers the way Slack does."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.block_kit_rules import message_problems, view_ack_problems, view_problems
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import AckTimeout
from bot.sandbox.slack_types import SlackRefused

MODAL: dict[str, Any] = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Launch"},
    "submit": {"type": "plain_text", "text": "Go"},
    "blocks": [
        {
            "type": "input",
            "block_id": "name",
            "label": {"type": "plain_text", "text": "Name"},
            "element": {"type": "plain_text_input", "action_id": "v", "max_length": 100},
        }
    ],
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeSlack]:
    with FakeSlack(clock=clock) as f:
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.base_url)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str, action_id: str = "go", value: str = "v") -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def refused(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as exc:
        call()
    return dict(exc.value.response.data)


# --- messages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blocks", "reason"),
    [
        ([section("x" * 3001)], "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"),
        ([section("x")] * 51, "no more than 50 items allowed [json-pointer:/blocks]"),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            "no more than 10 items allowed [json-pointer:/blocks/0/fields]",
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
            "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]",
        ),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
            "no more than 10 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            [{"type": "actions", "elements": [button("b" * 76)]}],
            "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        ),
        (
            [{"type": "actions", "elements": [button("b", value="v" * 2001)]}],
            "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
        ),
        (
            [{"type": "actions", "elements": [button("b", action_id="a" * 256)]}],
            "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]",
        ),
        (
            [{**section("x"), "block_id": "b" * 256}],
            "must be less than 256 characters [json-pointer:/blocks/0/block_id]",
        ),
        (
            [{**section("x"), "block_id": "same"}, {**section("y"), "block_id": "same"}],
            "duplicate block_id 'same' [json-pointer:/blocks/1/block_id]",
        ),
        (
            [{"type": "actions", "elements": [button("a", "same"), button("b", "same")]}],
            "duplicate action_id 'same' [json-pointer:/blocks/0/elements/1/action_id]",
        ),
        (
            [{"type": "actions", "elements": [{"type": "static_select", "action_id": "s",
                                               "options": [option(f"o{i}", str(i)) for i in range(101)]}]}],
            "no more than 100 items allowed [json-pointer:/blocks/0/elements/0/options]",
        ),
        (
            [{"type": "actions", "elements": [{"type": "static_select", "action_id": "s",
                                               "options": [option("o" * 76, "1")]}]}],
            "must be less than 76 characters [json-pointer:/blocks/0/elements/0/options/0/text/text]",
        ),
        (
            [{"type": "actions", "elements": [{"type": "static_select", "action_id": "s",
                                               "options": [option("o", "v" * 151)]}]}],
            "must be less than 151 characters [json-pointer:/blocks/0/elements/0/options/0/value]",
        ),
        ([{"type": "carousel"}], "unsupported type: 'carousel' [json-pointer:/blocks/0/type]"),
        ([section("")], "must be more than 0 characters [json-pointer:/blocks/0/text/text]"),
    ],
    ids=[
        "section-text", "blocks", "fields", "field-text", "header", "context", "button-text", "button-value",
        "action-id", "block-id", "duplicate-block-id", "duplicate-action-id", "options", "option-text",
        "option-value", "unknown-type", "empty-text",
    ],
)  # fmt: skip
def test_a_message_slack_refuses_is_refused_with_the_reason(
    fake: FakeSlack, client: WebClient, blocks: list[dict[str, Any]], reason: str
) -> None:
    for send in (
        lambda: client.chat_postMessage(channel="C1", text="t", blocks=blocks),
        lambda: client.chat_postEphemeral(channel="C1", user="U1", text="t", blocks=blocks),
    ):
        answer = refused(send)
        assert answer["ok"] is False and answer["error"] == "invalid_blocks"
        assert reason in answer["errors"], answer["errors"]
        assert f"[ERROR] {reason}" in answer["response_metadata"]["messages"]
    assert fake.messages("C1") == [] and fake.ephemerals() == []
    assert reason in fake.calls("chat.postMessage")[-1].problems


def test_chat_update_keeps_the_message_when_the_new_blocks_are_refused(
    client: WebClient, fake: FakeSlack
) -> None:
    ts = client.chat_postMessage(channel="C1", text="t", blocks=[section("fine")])["ts"]
    answer = refused(lambda: client.chat_update(channel="C1", ts=ts, text="t", blocks=[section("<" * 3001)]))
    assert answer["error"] == "invalid_blocks"
    assert fake.messages("C1")[0].blocks[0]["text"]["text"] == "fine"  # type: ignore[index]


def test_message_text_over_40000_characters_is_too_long(client: WebClient) -> None:
    answer = refused(lambda: client.chat_postMessage(channel="C1", text="x" * 40_001))
    assert answer["error"] == "msg_too_long"


def test_a_response_url_refuses_invalid_blocks(fake: FakeSlack) -> None:
    url = fake.response_url("tag", channel="C1", user="U1")
    answer = httpx.post(url, json={"text": "t", "blocks": [section("x" * 3001)]})
    assert (answer.status_code, answer.text) == (400, "invalid_blocks")
    (call,) = fake.calls("response_url")
    assert call.problems == ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]
    assert fake.ephemerals("U1") == []
    assert httpx.post(url, json={"text": "t", "blocks": [section("ok")]}).status_code == 200


def test_a_valid_message_is_accepted(client: WebClient) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}, "accessory": button("b" * 75)},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}] * 10},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10},
        {"type": "divider"},
    ]
    assert message_problems({"blocks": blocks}) == []
    assert client.chat_postMessage(channel="C1", text="t", blocks=blocks)["ok"]


# --- views ------------------------------------------------------------------------------------------


def text_input(**element: Any) -> dict[str, Any]:
    return {
        **MODAL,
        "blocks": [
            {
                "type": "input",
                "block_id": "name",
                "label": {"type": "plain_text", "text": "Name"},
                "element": {"type": "plain_text_input", "action_id": "v", **element},
            }
        ],
    }


@pytest.mark.parametrize(
    ("view", "reason"),
    [
        ({**MODAL, "title": {"type": "plain_text", "text": "t" * 25}}, "[json-pointer:/view/title/text]"),
        ({**MODAL, "submit": {"type": "plain_text", "text": "s" * 25}}, "[json-pointer:/view/submit/text]"),
        ({**MODAL, "close": {"type": "plain_text", "text": "c" * 25}}, "[json-pointer:/view/close/text]"),
        ({**MODAL, "private_metadata": "m" * 3001}, "[json-pointer:/view/private_metadata]"),
        ({**MODAL, "callback_id": "c" * 256}, "[json-pointer:/view/callback_id]"),
        ({**MODAL, "blocks": [section("x")] * 101}, "no more than 100 items allowed [json-pointer:/view/blocks]"),
        (text_input(max_length=3001), "[json-pointer:/view/blocks/0/element/max_length]"),
        (text_input(max_length=100, initial_value="n" * 101), "[json-pointer:/view/blocks/0/element/initial_value]"),
        (
            {**MODAL, "blocks": [{**MODAL["blocks"][0], "label": {"type": "plain_text", "text": "l" * 2001}}]},
            "[json-pointer:/view/blocks/0/label/text]",
        ),
        ({**MODAL, "submit": None}, "must provide a submit button"),
    ],
    ids=[
        "title", "submit", "close", "private-metadata", "callback-id", "blocks", "max-length",
        "initial-value", "label", "inputs-without-submit",
    ],
)  # fmt: skip
def test_a_view_slack_refuses_is_refused_with_the_reason(
    fake: FakeSlack, client: WebClient, view: dict[str, Any], reason: str
) -> None:
    answer = refused(lambda: client.views_open(trigger_id=fake.trigger_id("U1"), view=view))
    assert answer["error"] == "invalid_arguments"
    assert any(reason in p for p in answer["errors"]), answer["errors"]
    assert fake.open_views() == []


def test_a_home_tab_takes_100_blocks(client: WebClient, fake: FakeSlack) -> None:
    home = {"type": "home", "blocks": [section(str(i)) for i in range(100)]}
    assert view_problems(home) == []
    assert client.views_publish(user_id="U1", view=home)["ok"]
    answer = refused(lambda: client.views_publish(user_id="U1", view={**home, "blocks": home["blocks"] * 2}))
    assert answer["error"] == "invalid_arguments"
    assert len(fake.home_view("U1")["blocks"]) == 100  # type: ignore[index]


def test_a_view_over_250_kB_is_too_large(fake: FakeSlack, client: WebClient) -> None:
    big = {**MODAL, "blocks": [section("x" * 2900) for _ in range(90)]}
    assert (
        refused(lambda: client.views_open(trigger_id=fake.trigger_id("U1"), view=big))["error"]
        == "view_too_large"
    )


# --- trigger_ids --------------------------------------------------------------------------------------


def test_a_trigger_id_works_once(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.trigger_id("U1")
    assert client.views_open(trigger_id=trigger, view=MODAL)["ok"]
    assert (
        refused(lambda: client.views_open(trigger_id=trigger, view=MODAL))["error"] == "exchanged_trigger_id"
    )


def test_a_trigger_id_slack_never_issued_is_invalid(fake: FakeSlack, client: WebClient) -> None:
    assert refused(lambda: client.views_open(trigger_id="1234.5678.made-up", view=MODAL))["error"] == (
        "invalid_trigger_id"
    )


def test_a_trigger_id_expires_3_seconds_after_its_interaction(
    fake: FakeSlack, client: WebClient, clock: Clock
) -> None:
    trigger = fake.trigger_id("U1")
    clock.now += 3.01
    assert refused(lambda: client.views_open(trigger_id=trigger, view=MODAL))["error"] == "expired_trigger_id"
    fresh = fake.trigger_id("U1")
    clock.now += 2.9
    assert client.views_open(trigger_id=fresh, view=MODAL)["ok"]


def test_a_refused_view_does_not_use_up_its_trigger_id(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.trigger_id("U1")
    refused(lambda: client.views_open(trigger_id=trigger, view={**MODAL, "callback_id": "c" * 256}))
    assert client.views_open(trigger_id=trigger, view=MODAL)["ok"]


# --- the bodies of view_submission acks -------------------------------------------------------------------


def test_an_ack_slack_would_refuse_fails_the_submission(fake: FakeSlack, client: WebClient) -> None:
    view = client.views_open(trigger_id=fake.trigger_id("U1"), view=MODAL)["view"]
    for body in (
        {"response_action": "update", "view": {**MODAL, "title": {"type": "plain_text", "text": "t" * 25}}},
        {"response_action": "push", "view": {**MODAL, "blocks": [section("x" * 3001)]}},
        {"response_action": "errors", "errors": {}},
        {"response_action": "errors", "errors": {"name": "e" * 3001}},
        {"response_action": "explode"},
    ):
        assert view_ack_problems(body)
        with pytest.raises(SlackRefused, match="Slack refused the bot's answer to the form"):
            fake.apply_view_ack(view["id"], body)
    assert [v["id"] for v in fake.open_views("U1")] == [view["id"]]
    assert (
        fake.apply_view_ack(view["id"], {"response_action": "errors", "errors": {"name": "Too long."}})
        == "errors"
    )


# --- Slack's 3 seconds for an answer ---------------------------------------------------------------------


class _Slow(BaseHTTPRequestHandler):
    delay = 0.0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.delay)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_an_interaction_not_answered_within_3_seconds_fails(fake: FakeSlack) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    request = fake.requests("secret").slash_command("U1", "C1", "/endpoint", "list")
    try:
        assert request.post(url).status_code == 200
        _Slow.delay = 0.3
        with pytest.raises(AckTimeout, match="Slack gives up after 0.2s"):
            request.post(url, ack_seconds=0.2)
    finally:
        _Slow.delay = 0.0
        server.shutdown()
        server.server_close()


def test_the_shell_says_when_slack_refused_what_the_bot_sent(fake: FakeSlack, client: WebClient) -> None:
    from bot.shell.screen import Screen

    screen = Screen(fake, lambda view: {})
    client.chat_postMessage(channel="C1", text="fine")
    refused(lambda: client.chat_postMessage(channel="C1", text="t", blocks=[section("x" * 3001)]))
    lines = screen.updates("U1")
    (line,) = [x for x in lines if "refused" in x]
    assert line.startswith(
        "✗ Slack refused the bot's chat.postMessage (invalid_blocks): must be less than 3001"
    )
    assert "nobody would see it" in line
    assert not [x for x in screen.updates("U1") if "refused" in x]  # said once
