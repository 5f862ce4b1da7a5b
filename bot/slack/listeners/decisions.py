"""Approve, Reject and Withdraw: the buttons on a request's card (and in the approver's App Home), and the
dialogs they open."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain.launch import LaunchService
from bot.slack.ids import Action, Block, Callback
from bot.slack.listeners.errors import channel_of, guarded
from bot.slack.metadata import RequestRef
from bot.slack.views.launch_form import element_state
from bot.slack.views.renderer import Renderer

HomeRefresh = Callable[[WebClient, str], None]


class DecisionListeners:
    def __init__(
        self, launches: LaunchService, renderer: Renderer, refresh_home: HomeRefresh | None = None
    ) -> None:
        self.launches = launches
        self.renderer = renderer
        self.refresh_home = refresh_home  # re-renders a person's App Home tab

    def register(self, app: App) -> None:
        app.action(Action.APPROVE)(guarded(self.on_approve_clicked))
        app.action(Action.REJECT)(guarded(self.on_reject_clicked))
        app.action(Action.WITHDRAW)(guarded(self.on_withdraw_clicked))
        app.view(Callback.APPROVE_FORM)(guarded(self.on_approve_submitted))
        app.view(Callback.REJECT_FORM)(guarded(self.on_reject_submitted))

    def on_approve_clicked(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        self._open_decision(ack, body, action, client, approve=True)

    def on_reject_clicked(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        self._open_decision(ack, body, action, client, approve=False)

    def on_withdraw_clicked(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        ref = RequestRef.model_validate_json(action["value"])
        user = body["user"]["id"]
        request = self.launches.withdraw(ref.request_id, user)
        text = f"You withdrew your {request.kind} request #{request.id}. Nothing was done at Together."
        channel = channel_of(body)
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            client.chat_postMessage(channel=user, text=text)

    def _open_decision(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, *, approve: bool
    ) -> None:
        ack()
        ref = RequestRef.model_validate_json(action["value"])
        user = body["user"]["id"]
        channel = channel_of(body)
        request, budget = self.launches.decision_context(ref.request_id, user, approving=approve)
        ref = RequestRef(
            request_id=request.id,
            channel_id=channel or request.channel_id,
            message_ts=(body.get("container") or {}).get("message_ts"),
            home=ref.home,
        )
        modal = (
            self.renderer.approve_modal(request, ref, budget)
            if approve
            else self.renderer.reject_modal(request, ref)
        )
        client.views_open(trigger_id=body["trigger_id"], view=modal)

    def on_approve_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        ref = RequestRef.model_validate_json(view["private_metadata"])
        self.launches.approve(ref.request_id, body["user"]["id"], _text_value(view, Block.NOTE))
        ack()
        self._refresh_home(ref, body["user"]["id"], client)

    def on_reject_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        ref = RequestRef.model_validate_json(view["private_metadata"])
        self.launches.reject(ref.request_id, body["user"]["id"], _text_value(view, Block.REASON) or "")
        ack()
        self._refresh_home(ref, body["user"]["id"], client)

    def _refresh_home(self, ref: RequestRef, user: str, client: WebClient) -> None:
        """A decision taken from the App Home tab: show the tab without the request just decided."""
        if ref.home and self.refresh_home is not None:
            self.refresh_home(client, user)


def _text_value(view: dict[str, Any], block_id: str) -> str | None:
    value = element_state((view.get("state") or {}).get("values", {}), block_id).get("value")
    return str(value) if value is not None else None
