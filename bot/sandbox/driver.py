"""Plays a person in Slack: types commands, clicks buttons, fills and submits modals.

It sends what Slack would send the bot over a :class:`Transport`: signed requests POSTed to the bot's Request
URL (HTTP mode, the default) or envelopes over a Socket Mode WebSocket (the tests' own, in
tests/support/socket_mode.py), and reads what the bot made Slack show from the fake Web API.
The tests and the local shell both drive the bot with it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_options import OPTIONS_SECONDS, answered_options, options_refusal
from bot.sandbox.slack_requests import AckTimeout, SignedRequest, SlackRequests
from bot.sandbox.slack_types import Message, SlackRefused
from bot.sandbox.view_state import state_values
from bot.slack.ids import Block

DEFAULT_CHANNEL = "C0LAUNCH"
PENDING_SECONDS = 20.0  # how long a person waits for a form that says it is asking Together
# Blocks by which the bot's views say that they wait for Together (it updates them when Together answers).
PENDING_BLOCKS = frozenset({Block.ASKING.value, Block.CHECKING.value})


class DriverError(AssertionError):
    """What the person tried to do is not possible on screen (no such button, no open form...)."""


@dataclass(frozen=True)
class Answer:
    """The bot's acknowledgement of one request: the HTTP response, or the payload of a Socket Mode ack."""

    status_code: int
    text: str
    content_type: str = ""

    @property
    def content(self) -> bytes:
        return self.text.encode()

    def json(self) -> Any:
        return json.loads(self.text)


class Transport(Protocol):
    """How a request reaches the bot. `kind` is Slack's Socket Mode envelope type for it."""

    def deliver(self, request: SignedRequest, kind: str) -> Answer: ...

    def close(self) -> None: ...


class HttpTransport:
    """Signed requests POSTed to the bot's Request URL, as Slack does in HTTP mode."""

    def __init__(self, events_url: str) -> None:
        self.events_url = events_url
        self.http = httpx.Client(timeout=30)

    def deliver(self, request: SignedRequest, kind: str) -> Answer:
        # SignedRequest.post fails a request the bot does not answer within Slack's 3 seconds.
        response = request.post(self.events_url, self.http)
        return Answer(response.status_code, response.text, response.headers.get("content-type", ""))

    def close(self) -> None:
        self.http.close()


class SlackDriver:
    def __init__(
        self,
        fake: FakeSlack,
        signing_secret: str,
        events_url: str | None = None,
        *,
        team_id: str = "T0SIM",
        transport: Transport | None = None,
    ) -> None:
        if transport is None:
            if events_url is None:
                raise ValueError("give the bot's events URL (HTTP mode) or a transport")
            transport = HttpTransport(events_url)
        self.fake = fake
        self.transport = transport
        self.requests = SlackRequests(signing_secret, team_id=team_id, response_url_factory=fake.response_url)
        self.http = transport.http if isinstance(transport, HttpTransport) else httpx.Client(timeout=30)
        self.events_url = events_url or ""
        self._edits: dict[str, dict[str, Any]] = {}  # view id -> block id -> value typed but not dispatched

    def close(self) -> None:
        self.transport.close()
        self.http.close()

    def _send(self, request: SignedRequest, kind: str) -> Answer:
        try:
            answer = self.transport.deliver(request, kind)
        except AckTimeout as exc:
            raise DriverError(str(exc)) from None
        self._check(answer)
        return answer

    # --- typing commands ----------------------------------------------------------------------

    def command(
        self, user: str, text: str, *, channel: str = DEFAULT_CHANNEL, command: str = "/endpoint"
    ) -> Answer:
        request = self.requests.slash_command(user, channel, command, text)
        response = self._send(request, "slash_commands")
        # Text in the ack is shown to the person only, as Slack would; keep it where the fake keeps ephemerals.
        if response.content:
            if response.content_type.startswith("application/json"):
                body = response.json()
            else:
                body = {"text": response.text}
            if body.get("text") or body.get("blocks"):
                self.http.post(request.payload["response_url"], json=body)
        return response

    # --- clicking -------------------------------------------------------------------------------

    def find_button(
        self, label: str, *, user: str | None = None, channel: str | None = None
    ) -> tuple[Message, dict[str, Any]]:
        """The most recent message (top-level, thread reply, or ephemeral for `user`) with that button."""
        candidates: list[Message] = []
        channels = [channel] if channel else self.fake.channels()
        for ch in channels:
            for top in self.fake.messages(ch):
                candidates.append(top)
                candidates.extend(self.fake.replies(ch, top.ts))
        if user:
            candidates.extend(self.fake.ephemerals(user))
        for message in sorted(candidates, key=lambda m: float(m.ts), reverse=True):
            for block in message.blocks or []:
                for element in block.get("elements", []) if block.get("type") == "actions" else []:
                    if element.get("type") == "button" and _label(element).lower() == label.lower():
                        return message, element
        raise DriverError(f"no button labelled {label!r} is visible" + (f" in {channel}" if channel else ""))

    def click(self, user: str, label: str, *, channel: str | None = None) -> Answer:
        message, element = self.find_button(label, user=user, channel=channel)
        before = len(self.fake.open_views(user))
        answers = len(self.fake.ephemerals(user))
        request = self.requests.block_action(user, action_id=element["action_id"], message=message)
        response = self._send(request, "interactive")
        # The bot answers a click by opening a form or with a private message: wait for a new one.
        self._wait(
            lambda: len(self.fake.open_views(user)) != before or len(self.fake.ephemerals(user)) > answers,
            timeout=3,
        )
        return response

    # --- what only one person sees ---------------------------------------------------------------

    def wait_for_ephemeral(self, user: str, containing: str, *, after: int = 0, timeout: float = 10.0) -> str:
        """Wait for a message shown only to `user`, the `after`-th or later, whose text or blocks contain
        `containing`; returns its text followed by the text of its blocks."""

        def found() -> str | None:
            for message in reversed(self.fake.ephemerals(user)[after:]):
                shown = "\n".join(t for t in (message.text, _block_text(message.blocks or [])) if t)
                if containing in shown:
                    return shown
            return None

        self._wait(lambda: found() is not None, timeout=timeout)
        text = found()
        if text is None:
            seen = [m.text for m in self.fake.ephemerals(user)[after:]]
            raise DriverError(f"{user} was never shown {containing!r}; they saw {seen}")
        return text

    # --- App Home ----------------------------------------------------------------------------------

    def open_home(self, user: str, timeout: float = 5.0) -> dict[str, Any]:
        """Open the app's Home tab as `user` and return the view the bot published."""
        before = (self.fake.home_view(user) or {}).get("hash")
        self._send(self.requests.app_home_opened(user), "events_api")
        self._wait(
            lambda: (self.fake.home_view(user) or {}).get("hash") not in (None, before), timeout=timeout
        )
        home = self.fake.home_view(user)
        if home is None or home.get("hash") == before:
            raise DriverError(f"the bot published no Home tab for {user}")
        return home

    def click_home(self, user: str, label: str, *, block_id: str | None = None) -> Answer:
        """Click a button in `user`'s Home tab (the first with that label, or the one in `block_id`)."""
        home = self.fake.home_view(user)
        if home is None:
            raise DriverError(f"{user} has no Home tab to click in")
        found = [
            (block["block_id"], element)
            for block in home.get("blocks", [])
            if block.get("type") == "actions" and (block_id is None or block.get("block_id") == block_id)
            for element in block.get("elements", [])
            if element.get("type") == "button" and _label(element).lower() == label.lower()
        ]
        if not found:
            raise DriverError(f"no button labelled {label!r} in {user}'s Home tab")
        found_block, element = found[0]

        def seen() -> tuple[int, int, int]:  # a form opened, or an answer in a DM or an ephemeral
            return (
                len(self.fake.open_views(user)),
                len(self.fake.messages(user)),
                len(self.fake.ephemerals(user)),
            )

        before = seen()
        request = self.requests.block_action(
            user, action_id=element["action_id"], block_id=found_block, view=home
        )
        response = self._send(request, "interactive")
        self._wait(lambda: seen() != before, timeout=3)
        return response

    # --- forms ----------------------------------------------------------------------------------

    def view(self, user: str) -> dict[str, Any] | None:
        views = self.fake.open_views(user)
        return views[-1] if views else None

    def wait_for_view(self, user: str, timeout: float = 5.0) -> dict[str, Any]:
        """The user's open form, once it opened and is no longer waiting for Together (as a person waits
        for it to fill in; see `pending`)."""
        self._wait(lambda: self.view(user) is not None, timeout=timeout)
        view = self.view(user)
        if view is None:
            raise DriverError(f"no form opened for {user}")
        return self.wait_while_pending(user)

    @staticmethod
    def pending(view: dict[str, Any] | None) -> bool:
        """Whether the view says that it waits for Together (the bot then updates it when Together answers)."""
        ids = {b.get("block_id") for b in (view or {}).get("blocks") or []}
        return bool(ids & PENDING_BLOCKS)

    def wait_while_pending(self, user: str, timeout: float = PENDING_SECONDS) -> dict[str, Any]:
        """The user's open form once it no longer waits for Together (or as it is after `timeout`)."""
        self._wait(lambda: not self.pending(self.view(user)), timeout=timeout)
        view = self.view(user)
        if view is None:
            raise DriverError(f"{user}'s form was closed while it waited for Together")
        return view

    def set(self, user: str, block_id: str, value: Any) -> None:
        """Change one field of the open form, as the person would; fields that re-quote notify the bot."""
        view = self.view(user)
        if view is None:
            raise DriverError("there is no open form to change")
        block = next((b for b in view.get("blocks", []) if b.get("block_id") == block_id), None)
        if block is None or block.get("type") != "input":
            raise DriverError(f"the form has no field {block_id!r}")
        element = block["element"]
        if element.get("type") == "external_select" and not isinstance(value, dict):
            value = self.pick_option(user, block_id, str(value))
        edits = self._edits.setdefault(view["id"], {})
        edits[block_id] = value
        if not block.get("dispatch_action"):
            return
        state_view = dict(view, state={"values": self._values(view)})
        kwargs: dict[str, Any] = (
            {"selected_option": value} if "select" in element["type"] else {"value": value}
        )
        request = self.requests.block_action(
            user, action_id=element["action_id"], block_id=block_id, view=state_view, **kwargs
        )
        old_hash = view.get("hash")
        self._send(request, "interactive")
        self._wait(lambda: (self.fake.view(view["id"]) or {}).get("hash") != old_hash, timeout=5)
        self._edits.pop(view["id"], None)  # the bot re-rendered the form from these values
        self._wait(lambda: not self.pending(self.fake.view(view["id"])), timeout=PENDING_SECONDS)

    def options(self, user: str, block_id: str, query: str) -> list[dict[str, Any]]:
        """Type `query` into the external select of `block_id` in the open form: the options the bot offers,
        as Slack would show them (it waits 3 s, and shows nothing from an answer outside its limits)."""
        view = self.view(user)
        if view is None:
            raise DriverError("there is no open form to search in")
        block = next((b for b in view.get("blocks", []) if b.get("block_id") == block_id), None)
        element = (block or {}).get("element") or {}
        if element.get("type") != "external_select":
            raise DriverError(f"the form has no searchable menu {block_id!r}")
        request = self.requests.block_suggestion(
            user,
            dict(view, state={"values": self._values(view)}),
            action_id=element["action_id"],
            value=query,
        )
        started = time.monotonic()
        answer = self._send(request, "interactive")
        took = time.monotonic() - started
        if took > OPTIONS_SECONDS:
            raise DriverError(
                f"the bot answered the options request after {took:.1f}s; Slack gives up after "
                f"{OPTIONS_SECONDS:g}s and shows the person no options"
            )
        refusal = options_refusal(answer.text)
        if refusal:
            raise DriverError(f"Slack would show no options: {refusal}")
        return answered_options(answer.text)

    def pick_option(self, user: str, block_id: str, value: str) -> dict[str, Any]:
        """Search the external select of `block_id` for `value` and take the option with that value."""
        offered = self.options(user, block_id, value)
        chosen = next((o for o in offered if o.get("value") == value), None)
        if chosen is None:
            shown = ", ".join(str(o.get("value")) for o in offered[:10]) or "nothing"
            raise DriverError(f"searching {value!r} offers no option {value!r} (it offers {shown})")
        return chosen

    def submit(self, user: str) -> dict[str, str] | None:
        """Submit the open form as it stands. Returns the field errors the bot showed, or None if it closed."""
        view = self.view(user)
        if view is None:
            raise DriverError("there is no open form to submit")
        request = self.requests.view_submission(user, view, self._values(view))
        response = self._send(request, "interactive")
        try:
            outcome = self.fake.apply_view_ack(view["id"], response.text)
        except SlackRefused as exc:
            raise DriverError(str(exc)) from None
        if outcome == "errors":
            return self.fake.view_errors(view["id"])
        if outcome == "updated":  # e.g. "checking with Together": the outcome replaces it
            self._wait(lambda: not self.pending(self.fake.view(view["id"])), timeout=PENDING_SECONDS)
        self._edits.pop(view["id"], None)
        return None

    def cancel(self, user: str) -> None:
        view = self.view(user)
        if view is None:
            raise DriverError("there is no open form to cancel")
        self.fake.close_view(view["id"])
        self._edits.pop(view["id"], None)

    def values(self, view: dict[str, Any]) -> dict[str, Any]:
        """The form's `state.values` as they stand, with what was typed but not yet sent (what submit sends)."""
        return self._values(view)

    def _values(self, view: dict[str, Any]) -> dict[str, Any]:
        return state_values(view, self._edits.get(view["id"]))

    # --- helpers --------------------------------------------------------------------------------

    def _check(self, response: Answer) -> None:
        if response.status_code != 200:
            raise DriverError(f"the bot answered HTTP {response.status_code}: {response.text[:300]}")

    @staticmethod
    def _wait(condition: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        return bool(condition())


def _label(element: dict[str, Any]) -> str:
    text = element.get("text") or {}
    return str(text.get("text", "")) if isinstance(text, dict) else str(text)


def _block_text(blocks: list[dict[str, Any]]) -> str:
    """The mrkdwn and plain text inside blocks, one block a line."""
    lines = []
    for block in blocks:
        texts = [block.get("text")] + list(block.get("fields") or []) + list(block.get("elements") or [])
        lines += [t["text"] for t in texts if isinstance(t, dict) and isinstance(t.get("text"), str)]
    return "\n".join(lines)
