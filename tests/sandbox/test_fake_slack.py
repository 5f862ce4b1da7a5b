from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_types import TsClock, ensure_block_ids, make_response_tag

MODAL = {
    "type": "modal",
    "callback_id": "launch",
    "title": {"type": "plain_text", "text": "Launch"},
    "submit": {"type": "plain_text", "text": "Go"},
    "blocks": [
        {
            "type": "input",
            "block_id": "name",
            "label": {"type": "plain_text", "text": "Name"},
            "element": {"type": "plain_text_input", "action_id": "v", "initial_value": "x"},
        }
    ],
}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.base_url)


def test_base_url_has_trailing_slash(fake: FakeSlack) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:")
    assert fake.base_url.endswith("/api/")
    assert fake.response_url("abc") == f"http://127.0.0.1:{fake.port}/respond/abc"


def test_auth_test(fake: FakeSlack, client: WebClient) -> None:
    resp = client.auth_test()
    assert resp.data == {
        "ok": True,
        "url": "https://sim.slack.com/",
        "team": "Simulated Workspace",
        "user": "endpoint-bot",
        "team_id": "T0SIM",
        "user_id": "UBOTSIM",
        "bot_id": "BBOTSIM",
        "is_enterprise_install": False,
    }
    (call,) = fake.calls("auth.test")
    assert call.ok and call.headers["authorization"] == "Bearer xoxb-test"


def test_post_update_and_thread_reply(fake: FakeSlack, client: WebClient) -> None:
    blocks = [{"type": "section", "block_id": "s", "text": {"type": "mrkdwn", "text": "*pending*"}}]
    posted = client.chat_postMessage(channel="C1", text="pending", blocks=blocks)
    ts = posted["ts"]
    assert isinstance(ts, str) and len(ts.split(".")[1]) == 6
    assert posted["channel"] == "C1" and posted["message"]["blocks"] == blocks

    client.chat_update(channel="C1", ts=ts, text="approved", blocks=[])
    reply = client.chat_postMessage(channel="C1", text="starting", thread_ts=ts)
    assert reply["message"]["thread_ts"] == ts and float(reply["ts"]) > float(ts)

    (parent,) = fake.messages("C1")
    assert (parent.ts, parent.text, parent.blocks, parent.edits, parent.user) == (
        ts,
        "approved",
        [],
        1,
        "UBOTSIM",
    )
    (child,) = fake.replies("C1", ts)
    assert (child.text, child.thread_ts) == ("starting", ts)
    assert fake.message("C1", reply["ts"]) == child
    assert fake.calls("chat.postMessage")[0].params["blocks"] == blocks

    # a reply to a reply lands in the same thread
    client.chat_postMessage(channel="C1", text="again", thread_ts=reply["ts"])
    assert [m.text for m in fake.replies("C1", ts)] == ["starting", "again"]
    history = client.conversations_history(channel="C1")["messages"]
    assert history[0]["reply_count"] == 2
    assert [m["text"] for m in client.conversations_replies(channel="C1", ts=ts)["messages"]] == [
        "approved",
        "starting",
        "again",
    ]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_chat_errors_change_nothing(fake: FakeSlack, client: WebClient) -> None:
    for kwargs, error in [
        ({"channel": "C1", "text": "x", "thread_ts": "1.000001"}, "thread_not_found"),
        ({"channel": "C1"}, "no_text"),
    ]:
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(**kwargs)
        assert exc.value.response["error"] == error
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel="C1", ts="1.000001", text="x")
    assert exc.value.response["error"] == "message_not_found"
    assert fake.messages("C1") == []
    assert [c.ok for c in fake.calls()] == [False, False, False]


def test_ts_clock_strictly_increasing() -> None:
    clock = TsClock(now=lambda: 1764100000.0001)
    values = [clock.next() for _ in range(3)]
    assert values == ["1764100000.000100", "1764100000.000101", "1764100000.000102"]


def test_form_encoded_json_params_and_token_param(fake: FakeSlack) -> None:
    blocks = [{"type": "divider", "block_id": "d"}]
    resp = httpx.post(
        fake.base_url + "chat.postMessage",
        data={"token": "xoxb-form", "channel": "C2", "text": "t", "blocks": json.dumps(blocks)},
    )
    assert resp.json()["ok"] is True
    assert fake.calls("chat.postMessage")[0].params["blocks"] == blocks
    assert fake.messages("C2")[0].blocks == blocks


def test_missing_ids_are_filled_like_slack(fake: FakeSlack, client: WebClient) -> None:
    blocks = [
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "A"}}]}
    ]
    client.chat_postMessage(channel="C1", text="t", blocks=blocks)
    stored = fake.messages("C1")[0].blocks
    assert stored == ensure_block_ids(blocks)
    assert stored is not None and stored[0]["block_id"] and stored[0]["elements"][0]["action_id"]


def test_post_ephemeral(fake: FakeSlack, client: WebClient) -> None:
    resp = client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    (eph,) = fake.ephemerals("U1")
    assert (eph.ts, eph.text, eph.ephemeral_for, eph.channel) == (resp["message_ts"], "only you", "U1", "C1")
    assert fake.ephemerals("U2") == [] and fake.messages("C1") == []


def test_views_open_update_push_and_close(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.trigger_id("U1")
    opened = client.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert opened["id"].startswith("V") and opened["hash"] and opened["state"] == {"values": {}}
    assert opened["callback_id"] == "launch" and opened["root_view_id"] == opened["id"]
    assert [v["id"] for v in fake.open_views("U1")] == [opened["id"]]

    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id=trigger, view=MODAL)
    assert exc.value.response["error"] == "exchanged_trigger_id"

    updated = client.views_update(
        view_id=opened["id"], hash=opened["hash"], view={**MODAL, "callback_id": "v2"}
    )
    assert updated["view"]["hash"] != opened["hash"] and updated["view"]["callback_id"] == "v2"
    with pytest.raises(SlackApiError) as exc:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)
    assert exc.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as exc:
        client.views_update(view_id="VNOPE", view=MODAL)
    assert exc.value.response["error"] == "not_found"

    pushed = client.views_push(trigger_id=fake.trigger_id("U1"), view=MODAL)["view"]
    assert pushed["previous_view_id"] == opened["id"]
    assert [v["id"] for v in fake.open_views("U1")] == [opened["id"], pushed["id"]]
    assert fake.apply_view_ack(pushed["id"], "") == "closed"
    assert [v["id"] for v in fake.open_views("U1")] == [opened["id"]]
    assert (
        fake.apply_view_ack(opened["id"], {"response_action": "errors", "errors": {"name": "bad"}})
        == "errors"
    )
    assert fake.view_errors(opened["id"]) == {"name": "bad"}
    assert fake.close_view(opened["id"]) is True
    assert fake.open_views() == [] and fake.close_view(opened["id"]) is False


def test_views_update_by_external_id(fake: FakeSlack, client: WebClient) -> None:
    view = client.views_open(trigger_id=fake.trigger_id("U1"), view={**MODAL, "external_id": "req-1"})["view"]
    resp = client.views_update(external_id="req-1", view={**MODAL, "external_id": "req-1", "blocks": []})
    assert resp["view"]["id"] == view["id"] and fake.open_views("U1")[0]["blocks"] == []


def test_retry_handlers_recover_from_429_and_503(fake: FakeSlack) -> None:
    client = WebClient(
        token="xoxb-test",
        base_url=fake.base_url,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=1),
            ServerErrorRetryHandler(
                max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.0)
            ),
        ],
    )
    fake.fail("chat.postMessage", 429, retry_after=0)
    fake.fail("chat.update", 503)
    ts = client.chat_postMessage(channel="C1", text="x")["ts"]
    client.chat_update(channel="C1", ts=ts, text="y")

    first, second = fake.calls("chat.postMessage")
    assert (first.status, first.response, first.response_headers["Retry-After"]) == (
        429,
        {"ok": False, "error": "ratelimited"},
        "0",
    )
    assert second.ok
    assert [c.status for c in fake.calls("chat.update")] == [503, 200]
    assert [(m.text, m.edits) for m in fake.messages("C1")] == [("y", 1)]


def test_without_retry_handlers_errors_surface(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("chat.postMessage", 429, retry_after=0)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x")
    assert exc.value.response.status_code == 429
    assert exc.value.response["error"] == "ratelimited"
    fake.fail("chat.postMessage", 503)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x")
    assert exc.value.response.status_code == 503
    assert fake.messages("C1") == []
    client.chat_postMessage(channel="C1", text="x")  # the failures were used up
    assert len(fake.messages("C1")) == 1


def test_slack_level_error_injection(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("chat.postMessage", 200, error="channel_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C1", text="x")
        assert exc.value.response.status_code == 200
        assert exc.value.response["error"] == "channel_not_found"
    client.chat_postMessage(channel="C1", text="x")
    assert [c.ok for c in fake.calls("chat.postMessage")] == [False, False, True]


def test_fail_rate_is_seeded(fake: FakeSlack, client: WebClient) -> None:
    def run() -> list[int]:
        fake.reset()
        fake.fail_rate(0.5, statuses=(503,), seed=7, methods=["users.info"])
        for _ in range(12):
            with contextlib.suppress(SlackApiError):
                client.users_info(user="U1")
        client.auth_test()  # not in methods
        return [c.status for c in fake.calls()]

    statuses = run()
    assert statuses == run()
    assert 503 in statuses and 200 in statuses[:-1] and statuses[-1] == 200


def test_invalid_tokens(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as exc:
        WebClient(token="xoxp-user", base_url=fake.base_url).auth_test()
    assert exc.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as exc:
        WebClient(base_url=fake.base_url).auth_test()
    assert exc.value.response["error"] == "not_authed"
    with FakeSlack(bot_token="xoxb-right") as strict:
        with pytest.raises(SlackApiError) as exc:
            WebClient(token="xoxb-wrong", base_url=strict.base_url).auth_test()
        assert exc.value.response["error"] == "invalid_auth"
        assert WebClient(token="xoxb-right", base_url=strict.base_url).auth_test()["ok"]


def test_unknown_method_rule(fake: FakeSlack, client: WebClient) -> None:
    assert client.api_call("reactions.add", json={"name": "eyes"})["ok"] is True
    for name in ("chat.postMesage", "foo.bar", "nonsense"):
        with pytest.raises(SlackApiError) as exc:
            client.api_call(name)
        assert exc.value.response["error"] == "unknown_method"
    assert [c.method for c in fake.calls()] == ["reactions.add", "chat.postMesage", "foo.bar", "nonsense"]


def test_users_and_conversations_info(client: WebClient) -> None:
    user = client.users_info(user="U123")["user"]
    assert (user["id"], user["name"], user["real_name"]) == ("U123", "u123", "Sim User U123")
    channel = client.conversations_info(channel="C9")["channel"]
    assert (channel["id"], channel["name"]) == ("C9", "c9")


def test_response_url_recording_and_rendering(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="request")["ts"]
    url = fake.response_url("r1", channel="C1", user="U1", message_ts=ts)

    resp = httpx.post(url, json={"text": "just you"})
    assert (resp.status_code, resp.text) == (200, "ok")
    (call,) = fake.calls("response_url")
    assert (call.tag, call.params) == ("r1", {"text": "just you"})
    assert [m.text for m in fake.ephemerals("U1", channel="C1")] == ["just you"]

    httpx.post(url, json={"text": "everyone", "response_type": "in_channel"})
    assert [m.text for m in fake.messages("C1")] == ["request", "everyone"]

    httpx.post(url, json={"text": "approved", "replace_original": True})
    assert fake.message("C1", ts).text == "approved"  # type: ignore[union-attr]
    assert fake.message("C1", ts).edits == 1  # type: ignore[union-attr]

    httpx.post(url, json={"delete_original": True})
    assert fake.message("C1", ts) is None
    assert httpx.post(url, json={}).status_code == 400

    # a tag built by make_response_tag carries its own context
    tagged = fake.response_url(make_response_tag("C7", "U7", None, 1))
    httpx.post(tagged, json={"text": "hi"})
    assert [(m.channel, m.text) for m in fake.ephemerals("U7")] == [("C7", "hi")]


def test_response_url_failure_injection(fake: FakeSlack) -> None:
    fake.fail("response_url", 500)
    url = fake.response_url("x", channel="C1", user="U1")
    assert httpx.post(url, json={"text": "a"}).status_code == 500
    assert fake.ephemerals() == []
    assert httpx.post(url, json={"text": "a"}).status_code == 200
    assert [c.status for c in fake.calls("response_url")] == [500, 200]


def test_wait_for(fake: FakeSlack, client: WebClient) -> None:
    def later() -> None:
        time.sleep(0.05)
        client.chat_postMessage(channel="C1", text="late")

    threading.Thread(target=later).start()
    (call,) = fake.wait_for("chat.postMessage", lambda c: c.params.get("text") == "late", timeout=2)
    assert call.ok

    client.auth_test()
    with pytest.raises(AssertionError, match=r"(?s)views\.open.*auth\.test"):
        fake.wait_for("views.open", timeout=0.05)
    fake.clear()
    assert fake.calls() == [] and len(fake.messages("C1")) == 1


def test_listeners_and_channels(fake: FakeSlack, client: WebClient) -> None:
    seen: list[str] = []
    fake.add_listener(lambda call: seen.append(call.method))
    client.chat_postMessage(channel="C1", text="a")
    client.chat_postEphemeral(channel="C2", user="U1", text="b")
    assert seen == ["chat.postMessage", "chat.postEphemeral"]
    assert fake.channels() == ["C1", "C2"]


def test_views_publish_home_tab(fake: FakeSlack, client: WebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}
    first = client.views_publish(user_id="U1", view=home)["view"]
    second = client.views_publish(user_id="U1", view=home, hash=first["hash"])["view"]
    assert second["id"] == first["id"] and fake.home_view("U1") == second
    assert fake.open_views() == []
