"""Shared steps for the tests of running endpoints: launch one through the whole flow, then act on it."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.domain.model import RequestStatus
from tests.support.backends import Patch
from tests.support.stack import APPROVER, CHANNEL, REQUESTER, Stack

LLAMA_8B = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"


def launch(
    stack: Stack,
    text: str | None = None,
    *,
    user: str = REQUESTER,
    approver: str = APPROVER,
    started: bool = True,
) -> dict[str, Any]:
    """Ask, approve and (by default) wait until it serves; returns the endpoint as Together holds it.

    Without `text` it asks for llama-8b, 2-5 replicas, on hardware the stack's Together API offers.
    """
    if text is None:
        text = f"create llama-8b {stack.backend.hardware} 2-5"
    known = set(stack.endpoints())
    stack.slack.command(user, text)
    stack.slack.wait_for_view(user)
    assert stack.slack.submit(user) is None
    stack.settle()
    request_id = max(r.id for r in stack.bot.store.requests())
    stack.slack.click(approver, "Approve")  # earlier cards have no buttons left: this is the new one
    stack.slack.wait_for_view(approver)
    assert stack.slack.submit(approver) is None
    stack.settle()
    request = stack.bot.store.get_request(request_id)
    assert request is not None and request.status is RequestStatus.LAUNCHED, request
    if started:
        stack.start()
    (new,) = [e for i, e in stack.endpoints().items() if i not in known]
    return new


def thread_of(stack: Stack, request_id: int = 1) -> list[str]:
    card = next(m for m in stack.fake.messages(CHANNEL) if f"Launch request #{request_id}" in (m.text or ""))
    return [m.text or "" for m in stack.fake.replies(CHANNEL, card.ts)]


def card_of(stack: Stack, request_id: int = 1) -> str:
    card = next(m for m in stack.fake.messages(CHANNEL) if f"Launch request #{request_id}" in (m.text or ""))
    return json.dumps(card.blocks)


def patches(stack: Stack) -> list[dict[str, Any]]:
    return [r.json for r in stack.sim.requests if r.method == "PATCH"]


def changes(stack: Stack) -> list[Patch]:
    """The PATCHes that stopped, started, scaled or changed the auto-stop of an endpoint, oldest first.

    Each is (updateMask, body without etag). Where the backend needs an etag, each must carry one (a stale
    one would have been refused with 409 and retried, which shows as a second PATCH). v2's launch PATCHes
    the endpoint's traffic split, not its deployment, so it is not among them.
    """
    found: list[Patch] = []
    for r in stack.sim.requests:
        if r.method != "PATCH" or not re.fullmatch(stack.backend.patch_path, r.path):
            continue
        body = dict(r.json)
        etag = body.pop("etag", None)
        assert bool(etag) == stack.backend.etags, r
        found.append((r.query.get("updateMask"), body))
    return found


def deletes(stack: Stack) -> int:
    return sum(1 for r in stack.sim.requests if r.method == "DELETE")


def answer(stack: Stack, user: str, text: str, containing: str = "") -> str:
    """Type `/endpoint <text>` and return the next thing shown only to `user` (containing `containing`)."""
    before = len(stack.fake.ephemerals(user))
    stack.slack.command(user, text)
    return stack.slack.wait_for_ephemeral(user, containing, after=before)


def ask_to_confirm(stack: Stack, user: str, text: str) -> dict[str, Any]:
    """Type a stop or delete command; returns the dialog it opened."""
    before = len(stack.fake.ephemerals(user))
    stack.slack.command(user, text)
    view = stack.slack.wait_for_view(user)
    assert len(stack.fake.ephemerals(user)) == before, stack.fake.ephemerals(user)[-1].text
    return view


def submit_and_read(stack: Stack, user: str, containing: str = "") -> str:
    """Submit the open dialog and return what the bot then showed only to `user`."""
    before = len(stack.fake.ephemerals(user))
    assert stack.slack.submit(user) is None
    text = stack.slack.wait_for_ephemeral(user, containing, after=before)
    stack.settle()
    return text


def modal_text(view: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in view["blocks"] if b.get("type") == "section")
