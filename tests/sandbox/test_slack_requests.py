from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import httpx
import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedRequest, SlackRequests
from bot.sandbox.view_state import state_values

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def _opt(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value.title()}, "value": value}


def _input(block_id: str, element: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": block_id},
        "element": {"action_id": f"{block_id}_input", **element},
    }


LAUNCH_VIEW: dict[str, Any] = {
    "type": "modal",
    "callback_id": "launch",
    "private_metadata": '{"channel": "C1"}',
    "title": {"type": "plain_text", "text": "Launch endpoint"},
    "submit": {"type": "plain_text", "text": "Request"},
    "blocks": [
        _input("name", {"type": "plain_text_input", "initial_value": "llama"}),
        _input("replicas", {"type": "number_input", "is_decimal_allowed": False, "initial_value": "1"}),
        _input(
            "gpu",
            {
                "type": "static_select",
                "options": [_opt("h100"), _opt("a100")],
                "initial_option": _opt("h100"),
            },
        ),
        _input("flags", {"type": "checkboxes", "options": [_opt("spot"), _opt("autoscale")]}),
        _input("region", {"type": "radio_buttons", "options": [_opt("us"), _opt("eu")]}),
        _input("approver", {"type": "users_select", "initial_user": "U9"}),
        _input("notify", {"type": "conversations_select"}),
        {
            "type": "actions",
            "block_id": "buttons",
            "elements": [
                {"type": "button", "action_id": "refresh", "text": {"type": "plain_text", "text": "R"}}
            ],
        },
    ],
}

REQUEST_BLOCKS = [
    {"type": "section", "block_id": "summary", "text": {"type": "mrkdwn", "text": "llama x1"}},
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "value": "req-1",
                "text": {"type": "plain_text", "text": "OK"},
            },
            {"type": "static_select", "action_id": "size", "options": [_opt("s"), _opt("m")]},
        ],
    },
]


@pytest.fixture(autouse=True)
def _no_slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("SLACK_"):
            monkeypatch.delenv(key)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


def _verify(req: SignedRequest, secret: str = SECRET) -> bool:
    return SignatureVerifier(secret).is_valid(
        req.body, req.headers["x-slack-request-timestamp"], req.headers["x-slack-signature"]
    )


def test_requests_are_signed() -> None:
    slack = SlackRequests(SECRET)
    for req in (
        slack.slash_command("U1", "C1", "/endpoint", "launch llama"),
        slack.block_action("U1", action_id="approve", message={"ts": "1.000001", "blocks": REQUEST_BLOCKS}),
        slack.view_submission("U1", LAUNCH_VIEW),
        slack.view_closed("U1", LAUNCH_VIEW),
    ):
        assert req.headers["content-type"] == "application/x-www-form-urlencoded"
        assert req.headers["x-slack-signature"].startswith("v0=")
        assert _verify(req)
        assert not _verify(req, "another-secret")
        assert not _verify(req.tampered())


def test_slash_command_is_form_encoded_like_slack() -> None:
    slack = SlackRequests(SECRET)
    first = slack.slash_command("U1", "C1", "/endpoint", "launch llama & co")
    fields = parse_qsl(first.text, keep_blank_values=True)
    assert [k for k, _ in fields] == [
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    ]
    values = dict(fields)
    assert values["command"] == "/endpoint" and values["text"] == "launch llama & co"
    assert values["team_id"] == "T0SIM" and values["is_enterprise_install"] == "false"
    assert values["response_url"].startswith("https://hooks.slack.com/commands/T0SIM/")
    second = slack.slash_command("U1", "C1", "/endpoint", "", user_name="alice", channel_name="ops")
    assert second.payload["trigger_id"] != values["trigger_id"]
    assert (second.payload["user_name"], second.payload["channel_name"]) == ("alice", "ops")


def test_block_action_from_message_looks_up_elements() -> None:
    slack = SlackRequests(SECRET, response_url_factory=lambda tag: f"http://fake/respond/{tag}")
    message = {"type": "message", "ts": "1764100000.000100", "channel": "C1", "blocks": REQUEST_BLOCKS}
    req = slack.block_action("U1", action_id="approve", message=message)
    payload = json.loads(parse_qs(req.text)["payload"][0])
    assert payload == req.payload
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1764100000.000100",
        "channel_id": "C1",
        "is_ephemeral": False,
    }
    assert payload["channel"]["id"] == "C1" and payload["message"]["ts"] == "1764100000.000100"
    assert payload["user"] == {"id": "U1", "username": "u1", "name": "u1", "team_id": "T0SIM"}
    assert payload["response_url"].startswith("http://fake/respond/C1~U1~1764100000.000100~")
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["type"], action["value"]) == (
        "approve",
        "decision",
        "button",
        "req-1",
    )
    assert action["action_ts"]

    select = slack.block_action("U1", action_id="size", message=message, selected_option="m").payload
    assert select["actions"][0]["type"] == "static_select"
    assert select["actions"][0]["selected_option"] == _opt("m")
    assert select["state"]["values"]["decision"]["size"] == {"type": "static_select", "selected_option": None}


def test_block_action_from_view() -> None:
    view = {**LAUNCH_VIEW, "id": "V1", "hash": "1.a"}
    payload = SlackRequests(SECRET).block_action("U1", action_id="refresh", view=view).payload
    assert payload["container"] == {"type": "view", "view_id": "V1"}
    assert "response_url" not in payload and "channel" not in payload
    assert payload["view"]["state"]["values"]["name"]["name_input"]["value"] == "llama"
    assert payload["actions"][0]["block_id"] == "buttons"


def test_state_values_from_initial_values() -> None:
    assert state_values(LAUNCH_VIEW) == {
        "name": {"name_input": {"type": "plain_text_input", "value": "llama"}},
        "replicas": {"replicas_input": {"type": "number_input", "value": "1"}},
        "gpu": {"gpu_input": {"type": "static_select", "selected_option": _opt("h100")}},
        "flags": {"flags_input": {"type": "checkboxes", "selected_options": []}},
        "region": {"region_input": {"type": "radio_buttons", "selected_option": None}},
        "approver": {"approver_input": {"type": "users_select", "selected_user": "U9"}},
        "notify": {"notify_input": {"type": "conversations_select", "selected_conversation": None}},
    }


def test_state_values_from_overrides() -> None:
    values = state_values(
        LAUNCH_VIEW,
        {
            "name": "mistral",
            "replicas": 3,
            "gpu": "a100",
            "flags": ["spot", "autoscale"],
            "region": "eu",
            "approver": "U2",
            "notify": "C5",
        },
    )
    assert values["name"]["name_input"] == {"type": "plain_text_input", "value": "mistral"}
    assert values["replicas"]["replicas_input"] == {"type": "number_input", "value": "3"}
    assert values["gpu"]["gpu_input"] == {"type": "static_select", "selected_option": _opt("a100")}
    assert values["flags"]["flags_input"] == {
        "type": "checkboxes",
        "selected_options": [_opt("spot"), _opt("autoscale")],
    }
    assert values["region"]["region_input"] == {"type": "radio_buttons", "selected_option": _opt("eu")}
    assert values["approver"]["approver_input"] == {"type": "users_select", "selected_user": "U2"}
    assert values["notify"]["notify_input"] == {"type": "conversations_select", "selected_conversation": "C5"}
    assert state_values(LAUNCH_VIEW, {"name": None})["name"]["name_input"]["value"] is None
    with pytest.raises(KeyError):
        state_values(LAUNCH_VIEW, {"nope": "x"})
    with pytest.raises(ValueError):
        state_values(LAUNCH_VIEW, {"gpu": "tpu"})


def test_view_submission_payload() -> None:
    view = {**LAUNCH_VIEW, "id": "V1", "hash": "1.a"}
    payload = SlackRequests(SECRET).view_submission("U1", view, overrides={"replicas": "2"}).payload
    assert payload["type"] == "view_submission" and payload["response_urls"] == []
    assert payload["team"] == {"id": "T0SIM", "domain": "sim"} and payload["trigger_id"]
    sent = payload["view"]
    assert (sent["id"], sent["hash"], sent["callback_id"], sent["private_metadata"]) == (
        "V1",
        "1.a",
        "launch",
        '{"channel": "C1"}',
    )
    assert sent["state"]["values"]["replicas"]["replicas_input"]["value"] == "2"
    raw = {"name": {"name_input": {"type": "plain_text_input", "value": "z"}}}
    assert SlackRequests(SECRET).view_submission("U1", view, raw).payload["view"]["state"]["values"] == raw


def test_post_sends_body_and_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="")

    req = SlackRequests(SECRET).slash_command("U1", "C1", "/endpoint", "x")
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        assert req.post("http://app.local/slack/events", client=client).status_code == 200
    (sent,) = seen
    assert sent.content == req.body
    assert sent.headers["x-slack-signature"] == req.headers["x-slack-signature"]


# ------------------------------------------------------------------------------ a real Bolt app


def _build_app(fake: FakeSlack, submissions: list[dict[str, Any]]) -> App:
    app = App(
        client=WebClient(token="xoxb-test", base_url=fake.base_url),
        signing_secret=SECRET,
        process_before_response=True,
    )

    @app.command("/endpoint")
    def open_form(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=LAUNCH_VIEW)

    @app.action("approve")
    def approve(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        respond(text=f"approved by <@{body['user']['id']}>", replace_original=True)

    @app.view("launch")
    def submit(ack: Any, view: dict[str, Any], client: WebClient) -> None:
        name = view["state"]["values"]["name"]["name_input"]["value"]
        if not name:
            ack(response_action="errors", errors={"name": "Give it a name"})
            return
        ack()
        submissions.append(view)
        client.chat_postMessage(channel="C1", text=f"request {name}", blocks=REQUEST_BLOCKS)

    return app


def test_bolt_app_dispatches_signed_requests(fake: FakeSlack) -> None:
    submissions: list[dict[str, Any]] = []
    app = _build_app(fake, submissions)
    slack = fake.requests(SECRET)

    resp = app.dispatch(slack.slash_command("U1", "C1", "/endpoint", "").as_bolt_request())
    assert resp.status == 200
    (view,) = fake.open_views("U1")
    assert view["callback_id"] == "launch"

    resp = app.dispatch(slack.view_submission("U1", view, overrides={"name": ""}).as_bolt_request())
    assert resp.status == 200 and json.loads(resp.body)["response_action"] == "errors"
    assert fake.apply_view_ack(view["id"], resp.body) == "errors"

    resp = app.dispatch(slack.view_submission("U1", view).as_bolt_request())
    assert resp.status == 200 and resp.body == ""
    assert fake.apply_view_ack(view["id"], resp.body) == "closed"
    assert fake.open_views("U1") == [] and submissions[0]["id"] == view["id"]

    (request_msg,) = fake.messages("C1")
    resp = app.dispatch(slack.block_action("U2", action_id="approve", message=request_msg).as_bolt_request())
    assert resp.status == 200
    (call,) = fake.wait_for("response_url")
    assert call.params["replace_original"] is True
    updated = fake.message("C1", request_msg.ts)
    assert updated is not None and (updated.text, updated.edits) == ("approved by <@U2>", 1)


def test_bolt_rejects_tampered_and_unmatched(fake: FakeSlack) -> None:
    app = _build_app(fake, [])
    slack = fake.requests(SECRET)
    req = slack.slash_command("U1", "C1", "/endpoint", "")
    assert app.dispatch(req.tampered().as_bolt_request()).status == 401
    forged = SlackRequests("not-the-secret").slash_command("U1", "C1", "/endpoint", "")
    assert app.dispatch(forged.as_bolt_request()).status == 401
    assert app.dispatch(slack.slash_command("U1", "C1", "/other", "").as_bolt_request()).status == 404
    assert fake.calls("views.open") == []


def test_response_url_factory_from_a_fake_also_issues_trigger_ids(fake: FakeSlack) -> None:
    slack = SlackRequests(SECRET, response_url_factory=fake.response_url)
    trigger = slack.slash_command("U5", "C1", "/endpoint", "").payload["trigger_id"]
    WebClient(token="xoxb-test", base_url=fake.base_url).views_open(trigger_id=trigger, view=LAUNCH_VIEW)
    assert [v["callback_id"] for v in fake.open_views("U5")] == ["launch"]


def test_block_action_on_ephemeral_message(fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=fake.base_url)
    client.chat_postEphemeral(channel="C1", user="U1", text="confirm?", blocks=REQUEST_BLOCKS)
    (eph,) = fake.ephemerals("U1")
    payload = fake.requests(SECRET).block_action("U1", action_id="approve", message=eph).payload
    assert payload["container"]["is_ephemeral"] is True and "message" not in payload
    httpx.post(payload["response_url"], json={"text": "done", "replace_original": True})
    assert [m.text for m in fake.ephemerals("U1")] == ["done"]


def test_view_closed_payload() -> None:
    payload = SlackRequests(SECRET).view_closed("U1", {**LAUNCH_VIEW, "id": "V1"}, is_cleared=True).payload
    assert (payload["type"], payload["is_cleared"], payload["view"]["id"]) == ("view_closed", True, "V1")
