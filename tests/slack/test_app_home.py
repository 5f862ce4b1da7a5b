"""The App Home tab: your endpoints, and the requests waiting for your approval, with working buttons."""

from __future__ import annotations

import json

import pytest

from tests.support.lifecycle import launch, thread_of
from tests.support.stack import APPROVER, APPROVER_2, REQUESTER, Stack

pytestmark = pytest.mark.backend(
    "v1", reason="Slack-side behaviour that does not depend on the Together API; the flow suites cover v2"
)


def ask(stack: Stack, text: str, user: str = REQUESTER) -> None:
    stack.slack.command(user, text)
    stack.slack.wait_for_view(user)
    assert stack.slack.submit(user) is None
    stack.settle()


def home_text(view: dict) -> str:  # type: ignore[type-arg]
    return json.dumps(view["blocks"])


def test_home_shows_your_endpoints_and_your_requests_waiting(stack: Stack) -> None:
    launch(stack, "create llama-8b a100 2-5")  # the prices asserted here are a100's
    ask(stack, "create llama-70b 2xh100 1")
    home = stack.slack.open_home(REQUESTER)
    assert home["type"] == "home"
    text = home_text(home)
    assert "llama-8b-r1" in text and "STARTED" in text and "$8.00\\u2013$20.00/h" in text
    assert "Your requests waiting for approval" in text and "Request #2" in text
    assert "Nothing is waiting for you." in text and "approve_request" not in text  # not theirs to approve


def test_home_shows_what_your_endpoints_cost_so_far(stack: Stack) -> None:
    stack.follow_simulated_time()
    launch(stack, "create llama-8b h100 2-5 timeout=0")  # $5.40/h a replica; v1 runs 2 to 5 of them
    stack.advance(2 * 3600)
    home = stack.slack.open_home(REQUESTER)
    (mine,) = [
        b["text"]["text"] for b in home["blocks"] if "llama-8b-r1" in b.get("text", {}).get("text", "")
    ]
    assert "\ncost so far: $21.60–$54.00 over 2 h serving" in mine, mine


def test_approver_sees_requests_waiting_for_them_and_approves_from_home(stack: Stack) -> None:
    ask(stack, "create llama-70b 2xh100 1")
    text = home_text(stack.slack.open_home(APPROVER))
    assert "Request #1" in text and "asked by <@UREQUESTER> in <#C0LAUNCH>" in text and "$10.80/h" in text

    stack.slack.click_home(APPROVER, "Approve")
    modal = stack.slack.wait_for_view(APPROVER)
    assert modal["title"]["text"] == "Approve launch"  # the same confirmation as from the card
    assert stack.slack.submit(APPROVER) is None
    stack.settle()
    assert stack.creates() == 1
    assert thread_of(stack)[0].startswith(":white_check_mark: Approved by <@UAPPROVER1>")
    refreshed = home_text(stack.fake.home_view(APPROVER) or {})
    assert "Request #1" not in refreshed and "Nothing is waiting for you." in refreshed


def test_home_buttons_follow_the_same_rules(stack: Stack) -> None:
    """An approver's own request is not offered to them; a stale button is refused with who decided."""
    ask(stack, "create llama-70b 2xh100 1", user=APPROVER)
    assert "approve_request" not in home_text(stack.slack.open_home(APPROVER))
    assert "approve_request" in home_text(stack.slack.open_home(APPROVER_2))
    stack.bot.launches.reject(1, APPROVER_2, "not now")  # decided elsewhere: the card, say
    stack.slack.click_home(APPROVER_2, "Approve")  # the tab still shows the old button
    stack.fake.wait_for("chat.postMessage", lambda c: c.params.get("channel") == APPROVER_2)
    dm = stack.fake.messages(APPROVER_2)[-1].text or ""
    assert "already rejected by <@UAPPROVER2>" in dm
    assert stack.slack.view(APPROVER_2) is None and stack.creates() == 0


def test_messages_tab_is_left_alone(stack: Stack) -> None:
    response = stack.slack.requests.app_home_opened(REQUESTER, tab="messages").post(
        stack.slack.events_url, stack.slack.http
    )
    assert response.status_code == 200
    stack.slack.open_home(REQUESTER)
    assert len(stack.fake.calls("views.publish")) == 1  # for the Home tab only
