"""The fake Slack's file upload flow is as strict as Slack's: what Slack refuses, it refuses."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.fake_slack import FakeSlack

TOKEN = "xoxb-files-test"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token=TOKEN) as fake:
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.base_url)


def error_of(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(SlackApiError) as caught:
        call()
    return str(caught.value.response["error"])


def test_files_upload_v2_shares_the_files_in_the_channel(fake: FakeSlack, client: WebClient) -> None:
    dm = client.conversations_open(users="U1")["channel"]["id"]
    assert dm.startswith("D") and client.conversations_open(users="U1")["channel"]["id"] == dm
    done = client.files_upload_v2(
        file_uploads=[
            {"file": b"\x89PNG chart", "filename": "chart.png", "title": "Chart"},
            {"content": "a,b\n1,2\n", "filename": "rows.csv"},
        ],
        channel=dm,
        initial_comment="Here they are",
    )
    chart_id, rows_id = (f["id"] for f in done["files"])
    (message,) = fake.messages(dm)
    assert message.text == "Here they are" and message.metadata == {"files": [chart_id, rows_id]}
    info = client.files_info(file=chart_id)["file"]
    assert (info["name"], info["title"], info["filetype"], info["size"], info["ims"]) == (
        "chart.png", "Chart", "png", 10, [dm],
    )  # fmt: skip
    assert fake.files.get(rows_id).data == b"a,b\n1,2\n"  # type: ignore[union-attr]


def test_a_completion_whose_upload_never_happened_is_refused(fake: FakeSlack, client: WebClient) -> None:
    started = client.files_getUploadURLExternal(filename="chart.png", length=4)

    def complete() -> object:
        return client.files_completeUploadExternal(files=[{"id": started["file_id"]}], channel_id="C1")

    assert error_of(complete) == "file_not_found"
    assert error_of(lambda: client.files_info(file=started["file_id"])) == "file_not_found"
    assert fake.messages("C1") == []

    urllib.request.urlopen(urllib.request.Request(started["upload_url"], data=b"1234", method="POST"))
    assert client.files_completeUploadExternal(files=[{"id": started["file_id"]}], channel_id="C1")["ok"]
    assert error_of(complete) == "file_not_found"  # once only
    with pytest.raises(urllib.error.HTTPError) as again:  # the upload URL is spent
        urllib.request.urlopen(urllib.request.Request(started["upload_url"], data=b"1234", method="POST"))
    assert again.value.code == 404
    forged = lambda: client.files_completeUploadExternal(files=[{"id": "F0NOTREAL"}])  # noqa: E731
    assert error_of(forged) == "file_not_found"


def test_bad_upload_requests_are_refused(client: WebClient) -> None:
    assert error_of(lambda: client.files_getUploadURLExternal(filename="", length=4)) == "invalid_arguments"
    assert (
        error_of(lambda: client.files_getUploadURLExternal(filename="a.png", length=0)) == "invalid_arguments"
    )
    bad = lambda: client.api_call("files.completeUploadExternal", params={"files": "not json"})  # noqa: E731
    assert error_of(bad) == "invalid_arguments"
    assert error_of(lambda: client.api_call("files.uplaod")) == "unknown_method"  # a typo, as Slack says


def test_an_image_block_must_name_a_file_slack_holds(fake: FakeSlack, client: WebClient) -> None:
    def image(file_id: str) -> list[dict]:  # type: ignore[type-arg]
        return [{"type": "image", "slack_file": {"id": file_id}, "alt_text": "chart"}]

    assert error_of(lambda: client.chat_postMessage(channel="C1", text="x", blocks=image("F0NOPE"))) == (
        "invalid_blocks"
    )
    done = client.files_upload_v2(file=b"png", filename="c.png")  # private: shared nowhere
    posted = client.chat_postMessage(channel="C1", text="x", blocks=image(done["files"][0]["id"]))
    assert posted["ok"] and json.dumps(fake.messages("C1")[0].blocks).count("slack_file") == 1
