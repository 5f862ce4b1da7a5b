"""Signed requests as Slack sends them to an app's Request URL.

``SlackRequests`` builds slash commands, ``block_actions``, ``block_suggestion`` (options),
``view_submission`` and ``view_closed`` requests, signed with the app's signing secret the way Slack signs them (``v0=`` HMAC-SHA256 over
``v0:<timestamp>:<body>``).  Each :class:`SignedRequest` can be dispatched in-process to a Bolt app
(:meth:`SignedRequest.as_bolt_request`) or POSTed to a running server (:meth:`SignedRequest.post`).

Wire it to a :class:`~bot.sandbox.fake_slack.FakeSlack` with ``fake.requests(secret)``: response_urls
then point at the fake (so ``respond()`` lands there) and trigger_ids are issued by the fake (so
views opened with them belong to the right user).
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, urlencode

import httpx
from slack_bolt import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.slack_types import (
    Message,
    channel_name_for,
    ensure_block_ids,
    make_response_tag,
    user_name_for,
)
from bot.sandbox.view_state import element_state, find_element, state_values
from bot.slack.clock import SLACK_CLOCK

__all__ = [
    "SLACK_ACK_SECONDS",
    "AckTimeout",
    "SignedRequest",
    "SlackRequests",
    "TriggerIssuer",
]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Slack waits this long for the HTTP answer to a command or an interaction, then shows the person an error:
# https://docs.slack.dev/interactivity/handling-user-interaction#acknowledgment_response
# (tests/conftest.py lets BOT_TEST_ACK_SECONDS raise it on a machine too loaded to time anything).
SLACK_ACK_SECONDS = SLACK_CLOCK


class AckTimeout(AssertionError):
    """The app did not answer a request within Slack's 3 seconds."""


@runtime_checkable
class TriggerIssuer(Protocol):
    """Something that issues trigger_ids for users (a FakeSlack), so that views opened with them are theirs."""

    def trigger_id(self, user_id: str) -> str: ...


@dataclass
class SignedRequest:
    """A request body plus the headers Slack sends with it."""

    body: bytes
    headers: dict[str, str]
    payload: dict[str, Any] = field(default_factory=dict)
    """The decoded content: the form fields of a slash command, the JSON payload of an interaction."""

    @property
    def text(self) -> str:
        return self.body.decode()

    def as_bolt_request(self) -> BoltRequest:
        return BoltRequest(body=self.text, headers={k: [v] for k, v in self.headers.items()})

    def post(
        self, url: str, client: httpx.Client | None = None, *, ack_seconds: float | None = None
    ) -> httpx.Response:
        """POST the request to ``url`` (an app's Request URL).

        Slack gives up on an app that has not answered within 3 seconds (the person sees an error, and a
        trigger_id in the request is void): so does this, with :class:`AckTimeout`.  ``ack_seconds``
        defaults to :data:`SLACK_ACK_SECONDS`.
        """
        if ack_seconds is None:
            ack_seconds = SLACK_ACK_SECONDS
        if client is None:
            with httpx.Client(timeout=10.0) as own:
                return self.post(url, own, ack_seconds=ack_seconds)
        started = time.monotonic()
        response = client.post(url, content=self.body, headers=self.headers)
        took = time.monotonic() - started
        if took > ack_seconds:
            raise AckTimeout(
                f"the app answered {self.kind} after {took:.1f}s; Slack gives up after {ack_seconds:g}s "
                "and shows the person an error"
            )
        return response

    @property
    def kind(self) -> str:
        """What the request is, as a person would name it (``/endpoint``, ``block_actions``...)."""
        return str(self.payload.get("command") or self.payload.get("type") or "the request")

    def tampered(self) -> SignedRequest:
        """The same request with its body changed after signing (the signature no longer matches)."""
        return SignedRequest(
            body=self.body + b"&tampered=1", headers=dict(self.headers), payload=self.payload
        )


class SlackRequests:
    """Builds signed requests from one workspace to one app."""

    def __init__(
        self,
        signing_secret: str,
        *,
        team_id: str = "T0SIM",
        team_domain: str = "sim",
        api_app_id: str = "A0SIM",
        response_url_factory: Callable[[str], str] | None = None,
        trigger_id_factory: Callable[[str], str] | None = None,
        verification_token: str = "vtokSIMULATED000",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.team_domain = team_domain
        self.api_app_id = api_app_id
        self.response_url_factory = response_url_factory
        issuer = getattr(response_url_factory, "__self__", None)
        if trigger_id_factory is None and isinstance(issuer, TriggerIssuer):
            # response_urls come from a FakeSlack: let it issue the trigger_ids too, so that the
            # views the app opens with them belong to the right user.
            trigger_id_factory = issuer.trigger_id
        self.trigger_id_factory = trigger_id_factory
        self.verification_token = verification_token
        self.clock = clock
        self._verifier = SignatureVerifier(signing_secret)
        self._seq: Iterator[int] = itertools.count(1)

    # -------------------------------------------------------------- signing

    def sign(self, body: str | bytes, content_type: str = FORM_CONTENT_TYPE) -> SignedRequest:
        raw = body.encode() if isinstance(body, str) else body
        timestamp = str(int(self.clock()))
        signature = self._verifier.generate_signature(timestamp=timestamp, body=raw)
        if signature is None:  # pragma: no cover - only when the secret is empty
            raise ValueError("cannot sign without a signing secret")
        headers = {
            "content-type": content_type,
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature,
        }
        return SignedRequest(body=raw, headers=headers)

    def _interactive(self, payload: dict[str, Any]) -> SignedRequest:
        req = self.sign("payload=" + quote(json.dumps(payload, separators=(",", ":")), safe=""))
        req.payload = payload
        return req

    # -------------------------------------------------------------- ids

    def new_trigger_id(self, user_id: str) -> str:
        if self.trigger_id_factory is not None:
            return self.trigger_id_factory(user_id)
        seq = next(self._seq)
        return f"{int(self.clock() * 1000)}{seq:04d}.{seq}.{secrets.token_hex(16)}"

    def new_response_url(
        self, kind: str, channel_id: str | None, user_id: str, message_ts: str | None = None
    ) -> str:
        seq = next(self._seq)
        if self.response_url_factory is not None:
            return self.response_url_factory(make_response_tag(channel_id, user_id, message_ts, seq))
        return f"https://hooks.slack.com/{kind}/{self.team_id}/{seq}/{secrets.token_urlsafe(18)}"

    def _user(self, user_id: str, user_name: str | None = None) -> dict[str, Any]:
        name = user_name or user_name_for(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _team(self) -> dict[str, Any]:
        return {"id": self.team_id, "domain": self.team_domain}

    # -------------------------------------------------------------- slash commands

    def slash_command(
        self,
        user_id: str,
        channel_id: str,
        command: str,
        text: str = "",
        *,
        user_name: str | None = None,
        channel_name: str | None = None,
    ) -> SignedRequest:
        fields = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name or channel_name_for(channel_id),
            "user_id": user_id,
            "user_name": user_name or user_name_for(user_id),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self.new_response_url("commands", channel_id, user_id),
            "trigger_id": self.new_trigger_id(user_id),
        }
        req = self.sign(urlencode(fields))
        req.payload = fields
        return req

    # -------------------------------------------------------------- block actions

    def block_action(
        self,
        user_id: str,
        *,
        action_id: str,
        value: Any = None,
        block_id: str | None = None,
        channel_id: str | None = None,
        message: Mapping[str, Any] | Message | None = None,
        view: Mapping[str, Any] | None = None,
        selected_option: Any = None,
        action_type: str | None = None,
    ) -> SignedRequest:
        """A ``block_actions`` request: the user clicked/changed element ``action_id`` in ``message``
        (a dict with ``ts``, or a :class:`Message`) or in ``view``.

        The element's ``type`` and ``block_id`` are looked up in the message/view blocks unless given.
        ``value`` is the button value (defaults to the button's own value) or the new value of an
        input; ``selected_option`` an option value (or an option dict) for selects, radio buttons and
        overflow menus, or a list of values for checkboxes and multi-selects.
        """
        if message is not None and view is not None:
            raise ValueError("pass message or view, not both")
        ephemeral = False
        msg: dict[str, Any] | None = None
        if isinstance(message, Message):
            channel_id = channel_id or message.channel
            ephemeral = message.ephemeral_for is not None
            msg = message.to_dict()
        elif message is not None:
            msg = copy.deepcopy(dict(message))
            channel_id = channel_id or msg.get("channel")
        view_dict = copy.deepcopy(dict(view)) if view is not None else None
        if view_dict is not None:
            view_dict["blocks"] = ensure_block_ids(view_dict.get("blocks") or [])
        if msg is not None and msg.get("blocks") is not None:
            msg["blocks"] = ensure_block_ids(msg["blocks"])
        blocks = (view_dict or msg or {}).get("blocks") or []

        found_block, element = find_element(blocks, action_id, block_id)
        block_id = block_id or found_block or "actions"
        element = element or {}
        el_type = (
            action_type
            or element.get("type")
            or ("static_select" if selected_option is not None else "button")
        )
        action: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "type": el_type}
        if el_type in ("button", "workflow_button"):
            if element.get("text") is not None:
                action["text"] = copy.deepcopy(element["text"])
            button_value = value if value is not None else element.get("value")
            if button_value is not None:
                action["value"] = button_value
            if element.get("style"):
                action["style"] = element["style"]
        else:
            chosen = selected_option if selected_option is not None else value
            if chosen is not None or el_type in ("overflow",):
                action.update(
                    element_state(element | {"type": el_type}, chosen, explicit=True, for_action=True)
                )
        action["action_ts"] = f"{self.clock():.6f}"

        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": self.new_trigger_id(user_id),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if view_dict is not None:
            state = view_dict.setdefault("state", {})
            if not state.get("values"):
                state["values"] = state_values(view_dict)
            payload["container"] = {"type": "view", "view_id": view_dict.get("id")}
            payload["view"] = view_dict
        else:
            message_ts = msg.get("ts") if msg else None
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": ephemeral,
            }
            payload["channel"] = {"id": channel_id, "name": channel_name_for(channel_id or "")}
            if msg is not None and not ephemeral:  # Slack leaves out ephemeral messages
                payload["message"] = msg
            payload["state"] = {"values": state_values({"blocks": blocks})}
            payload["response_url"] = self.new_response_url("actions", channel_id, user_id, message_ts)
        payload["actions"] = [action]
        return self._interactive(payload)

    # -------------------------------------------------------------- views

    def _view_payload(self, view: Mapping[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(dict(view))
        out["blocks"] = ensure_block_ids(out.get("blocks") or [])
        out.setdefault("id", "V0SIMULATED")
        out.setdefault("team_id", self.team_id)
        out.setdefault("type", "modal")
        out.setdefault("private_metadata", "")
        out.setdefault("callback_id", "")
        out.setdefault("hash", f"{int(self.clock())}.simulated")
        out.setdefault("app_id", self.api_app_id)
        out["state"] = {"values": values}
        return out

    def view_submission(
        self,
        user_id: str,
        view: Mapping[str, Any],
        values: dict[str, Any] | None = None,
        *,
        overrides: Mapping[str, Any] | None = None,
    ) -> SignedRequest:
        """A ``view_submission``: the user submitted ``view`` (as Slack holds it, e.g. from
        ``fake.open_views(user)``).  ``values`` is a complete ``state.values`` in Slack's shape; when
        it is None the state is the form as it stands (initial values), changed by ``overrides``
        (plain values keyed by block_id, see :func:`state_values`)."""
        if values is None:
            values = state_values(view, overrides)
        payload: dict[str, Any] = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": self.new_trigger_id(user_id),
            "view": self._view_payload(view, values),
            "response_urls": [],
            "enterprise": None,
            "is_enterprise_install": False,
        }
        return self._interactive(payload)

    def block_suggestion(
        self,
        user_id: str,
        view: Mapping[str, Any],
        *,
        action_id: str,
        value: str,
        block_id: str | None = None,
    ) -> SignedRequest:
        """A ``block_suggestion`` (an options request): the user typed ``value`` into the external select
        ``action_id`` of ``view``. Slack sends one as the person types, once ``min_query_length`` is met."""
        view_dict = self._view_payload(view, state_values(view))
        found_block, element = find_element(view_dict["blocks"], action_id, block_id)
        if element is None or not str(element.get("type", "")).endswith("external_select"):
            raise ValueError(f"the view has no external select {action_id!r}")
        payload: dict[str, Any] = {
            "type": "block_suggestion",
            "user": self._user(user_id),
            "container": {"type": "view", "view_id": view_dict["id"]},
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "action_id": action_id,
            "block_id": block_id or found_block,
            "value": value,
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": view_dict,
        }
        return self._interactive(payload)

    def view_closed(
        self, user_id: str, view: Mapping[str, Any], *, is_cleared: bool = False
    ) -> SignedRequest:
        """A ``view_closed`` (sent only for views opened with ``notify_on_close``)."""
        payload: dict[str, Any] = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "view": self._view_payload(view, state_values(view)),
            "is_cleared": is_cleared,
            "enterprise": None,
            "is_enterprise_install": False,
        }
        return self._interactive(payload)

    # -------------------------------------------------------------- events

    def event(self, event: Mapping[str, Any]) -> SignedRequest:
        """An Events API ``event_callback`` carrying ``event`` (JSON, as Slack POSTs it)."""
        seq = next(self._seq)
        payload: dict[str, Any] = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": dict(event),
            "type": "event_callback",
            "event_id": f"Ev{int(self.clock())}{seq:06d}",
            "event_time": int(self.clock()),
            "authorizations": [
                {
                    "team_id": self.team_id,
                    "user_id": "UBOTSIM",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        req = self.sign(json.dumps(payload, separators=(",", ":")), content_type="application/json")
        req.payload = payload
        return req

    def app_home_opened(self, user_id: str, *, tab: str = "home") -> SignedRequest:
        """The user opened the app's Home (or Messages) tab."""
        return self.event(
            {
                "type": "app_home_opened",
                "user": user_id,
                "channel": "D" + user_id.lstrip("UW")[:10],
                "tab": tab,
                "event_ts": f"{self.clock():.6f}",
            }
        )
