"""Slack's signatures are checked on every request; user text cannot ping the channel."""

from __future__ import annotations

import httpx
import pytest

from bot.slack.views.renderer import Renderer
from tests.support.stack import CHANNEL, REQUESTER, Stack

pytestmark = pytest.mark.backend(
    "v1", reason="Slack-side behaviour that does not depend on the Together API; the flow suites cover v2"
)


def test_tampered_or_unsigned_requests_are_refused(stack: Stack) -> None:
    request = stack.slack.requests.slash_command(REQUESTER, CHANNEL, "/endpoint", "create llama-8b a100 2")
    url = stack.server.url + "/slack/events"
    assert request.tampered().post(url).status_code == 401
    unsigned = httpx.post(
        url, content=request.body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert unsigned.status_code == 401
    assert stack.fake.calls("views.open") == []


def test_health_check(stack: Stack) -> None:
    response = httpx.get(stack.server.url + "/healthz")
    assert response.status_code == 200 and response.json() == {"ok": True, "database": "ok"}


def test_rendered_views_are_valid_block_kit(stack: Stack) -> None:
    from slack_sdk.models.views import View

    stack.slack.command(REQUESTER, "create llama-8b a100 2-5")
    view = stack.slack.wait_for_view(REQUESTER)
    keep = {
        k: view[k] for k in ("type", "title", "submit", "close", "blocks", "private_metadata", "callback_id")
    }
    View(**keep).to_dict()  # raises on Block Kit limits (title length, option text length, ...)
    assert isinstance(stack.bot.renderer, Renderer)


def test_unexpected_failure_tells_the_user_with_a_reference(stack: Stack) -> None:
    stack.fake.fail("views.open", 500, times=5)  # Slack keeps failing: the listener cannot open the form
    stack.slack.command(REQUESTER, "create llama-8b a100 2-5")
    stack.fake.wait_for("response_url")
    (text,) = [m.text for m in stack.fake.ephemerals(REQUESTER)]
    assert "Something went wrong on the bot's side (reference `" in text and "Nothing was launched" in text


def test_secrets_are_redacted_from_logs() -> None:
    import logging

    from bot.logs import RedactSecrets

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s used", ("xoxb-secret-123",), None)
    assert RedactSecrets(["xoxb-secret-123"]).filter(record)
    assert record.getMessage() == "token [redacted] used"


def test_hardware_lookups_are_warmed_before_anyone_asks(stack: Stack) -> None:
    assert stack.bot.launches.warm_hardware_cache() >= 10
    before = len(stack.sim.requests)
    stack.slack.command(REQUESTER, "create llama-70b 2xh100 1")
    stack.slack.wait_for_view(REQUESTER)
    assert len(stack.sim.requests) == before  # answered from memory
