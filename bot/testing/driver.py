"""Plays a person in Slack: types commands, clicks buttons, fills and submits modals.

It sends the signed requests Slack would send to the bot's Request URL over real HTTP and reads what
the bot made Slack show from the fake Web API. The tests and the local shell both drive the bot with it.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from bot.testing.fake_slack import FakeSlack, Message
from bot.testing.slack_requests import SlackRequests, state_values

DEFAULT_CHANNEL = "C0LAUNCH"


class DriverError(AssertionError):
    """What the person tried to do is not possible on screen (no such button, no open form...)."""


class SlackDriver:
    def __init__(
        self, fake: FakeSlack, signing_secret: str, events_url: str, *, team_id: str = "T0SIM"
    ) -> None:
        self.fake = fake
        self.events_url = events_url
        self.requests = SlackRequests(signing_secret, team_id=team_id, response_url_factory=fake.response_url)
        self.http = httpx.Client(timeout=30)
        self._edits: dict[str, dict[str, Any]] = {}  # view id -> block id -> value typed but not dispatched

    def close(self) -> None:
        self.http.close()

    # --- typing commands ----------------------------------------------------------------------

    def command(
        self, user: str, text: str, *, channel: str = DEFAULT_CHANNEL, command: str = "/endpoint"
    ) -> httpx.Response:
        request = self.requests.slash_command(user, channel, command, text)
        response = request.post(self.events_url, self.http)
        self._check(response)
        # Text in the ack is shown to the person only, as Slack would; keep it where the fake keeps ephemerals.
        if response.content:
            if response.headers.get("content-type", "").startswith("application/json"):
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

    def click(self, user: str, label: str, *, channel: str | None = None) -> httpx.Response:
        message, element = self.find_button(label, user=user, channel=channel)
        before = len(self.fake.open_views(user))
        answers = len(self.fake.ephemerals(user))
        request = self.requests.block_action(user, action_id=element["action_id"], message=message)
        response = request.post(self.events_url, self.http)
        self._check(response)
        # The bot answers a click by opening a form or with a private message: wait for a new one.
        self._wait(
            lambda: len(self.fake.open_views(user)) != before or len(self.fake.ephemerals(user)) > answers,
            timeout=3,
        )
        return response

    # --- what only one person sees ---------------------------------------------------------------

    def latest_ephemeral(self, user: str) -> str | None:
        """The text of the newest message shown only to `user`."""
        messages = self.fake.ephemerals(user)
        return messages[-1].text if messages else None

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
        response = self.requests.app_home_opened(user).post(self.events_url, self.http)
        self._check(response)
        self._wait(
            lambda: (self.fake.home_view(user) or {}).get("hash") not in (None, before), timeout=timeout
        )
        home = self.fake.home_view(user)
        if home is None or home.get("hash") == before:
            raise DriverError(f"the bot published no Home tab for {user}")
        return home

    def click_home(self, user: str, label: str, *, block_id: str | None = None) -> httpx.Response:
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
        response = request.post(self.events_url, self.http)
        self._check(response)
        self._wait(lambda: seen() != before, timeout=3)
        return response

    # --- forms ----------------------------------------------------------------------------------

    def view(self, user: str) -> dict[str, Any] | None:
        views = self.fake.open_views(user)
        return views[-1] if views else None

    def wait_for_view(self, user: str, timeout: float = 5.0) -> dict[str, Any]:
        self._wait(lambda: self.view(user) is not None, timeout=timeout)
        view = self.view(user)
        if view is None:
            raise DriverError(f"no form opened for {user}")
        return view

    def set(self, user: str, block_id: str, value: Any) -> None:
        """Change one field of the open form, as the person would; fields that re-quote notify the bot."""
        view = self.view(user)
        if view is None:
            raise DriverError("there is no open form to change")
        block = next((b for b in view.get("blocks", []) if b.get("block_id") == block_id), None)
        if block is None or block.get("type") != "input":
            raise DriverError(f"the form has no field {block_id!r}")
        edits = self._edits.setdefault(view["id"], {})
        edits[block_id] = value
        if not block.get("dispatch_action"):
            return
        element = block["element"]
        state_view = dict(view, state={"values": self._values(view)})
        kwargs: dict[str, Any] = (
            {"selected_option": value} if "select" in element["type"] else {"value": value}
        )
        request = self.requests.block_action(
            user, action_id=element["action_id"], block_id=block_id, view=state_view, **kwargs
        )
        old_hash = view.get("hash")
        self._check(request.post(self.events_url, self.http))
        self._wait(lambda: (self.fake.view(view["id"]) or {}).get("hash") != old_hash, timeout=5)
        self._edits.pop(view["id"], None)  # the bot re-rendered the form from these values

    def submit(self, user: str) -> dict[str, str] | None:
        """Submit the open form as it stands. Returns the field errors the bot showed, or None if it closed."""
        view = self.view(user)
        if view is None:
            raise DriverError("there is no open form to submit")
        request = self.requests.view_submission(user, view, self._values(view))
        response = request.post(self.events_url, self.http)
        self._check(response)
        outcome = self.fake.apply_view_ack(view["id"], response.text)
        if outcome == "errors":
            return self.fake.view_errors(view["id"])
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

    def _check(self, response: httpx.Response) -> None:
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
