"""Bolt listeners: read the request, call the domain, render the answer. No rules here."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.catalog import Catalog
from bot.domain.command import USAGE, CreateCommand, parse_command
from bot.domain.errors import PolicyLimit, UserError
from bot.domain.launch import DEFAULT_INACTIVE_TIMEOUT, LaunchService
from bot.domain.provider import HardwareOption
from bot.slack import observe
from bot.slack.forms import FormValues, element_state, launch_form, read_form
from bot.slack.ids import COMMAND, Action, Block, Callback
from bot.slack.messages import Renderer
from bot.slack.metadata import LaunchFormMeta, RequestRef
from bot.slack.text import code

if TYPE_CHECKING:
    from bot.slack.lifecycle_listeners import LifecycleListeners

log = logging.getLogger(__name__)

# Domain field names -> the input block that shows the error.
FIELD_BLOCKS = {
    "model": Block.MODEL,
    "hardware": Block.HARDWARE,
    "replicas": Block.MAX_REPLICAS,
    "min_replicas": Block.MIN_REPLICAS,
    "max_replicas": Block.MAX_REPLICAS,
    "inactive_timeout": Block.INACTIVE_TIMEOUT,
    "display_name": Block.DISPLAY_NAME,
}


class Listeners:
    def __init__(
        self,
        launches: LaunchService,
        catalog: Catalog,
        renderer: Renderer,
        lifecycle: LifecycleListeners | None = None,
    ) -> None:
        self.launches = launches
        self.catalog = catalog
        self.renderer = renderer
        self.lifecycle = lifecycle  # the sub-commands after launch, and the App Home tab

    def register(self, app: App) -> None:
        app.command(COMMAND)(self.on_command)
        for action in (
            Action.MODEL,
            Action.HARDWARE,
            Action.MIN_REPLICAS,
            Action.MAX_REPLICAS,
            Action.INACTIVE_TIMEOUT,
        ):
            app.block_action({"action_id": action})(self.on_form_changed)
        app.view(Callback.LAUNCH_FORM)(self.on_launch_submitted)
        app.action(Action.APPROVE)(self.on_approve_clicked)
        app.action(Action.REJECT)(self.on_reject_clicked)
        app.action(Action.WITHDRAW)(self.on_withdraw_clicked)
        app.view(Callback.APPROVE_FORM)(self.on_approve_submitted)
        app.view(Callback.REJECT_FORM)(self.on_reject_submitted)
        if self.lifecycle is not None:
            self.lifecycle.register(app)

    # --- /endpoint ----------------------------------------------------------------------------

    def on_command(self, ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        try:
            # A mistake is answered with the commands this person may use (no `delete` for the others).
            allowed = (
                self.lifecycle.lifecycle.commands_for(command["user_id"])
                if self.lifecycle is not None
                else None
            )
            parsed = parse_command(command.get("text") or "", self.catalog, commands=allowed)
        except UserError as exc:
            observe.user_error()
            ack(text=exc.message)  # the ack's text is shown only to the person who typed the command
            return
        if self.lifecycle is not None and self.lifecycle.handles(parsed):
            self.lifecycle.on_command(parsed, ack=ack, command=command, respond=respond, client=client)
            return
        if not isinstance(parsed, CreateCommand):  # help, or a sub-command nobody wired in
            ack(text=USAGE)
            return
        ack()
        values = FormValues(
            model=parsed.model,
            hardware=parsed.hardware,
            min_replicas=parsed.min_replicas,
            max_replicas=parsed.max_replicas,
            display_name=parsed.display_name,
            inactive_timeout=parsed.inactive_timeout
            if parsed.inactive_timeout is not None
            else DEFAULT_INACTIVE_TIMEOUT,
        )
        try:
            hardware = self.launches.precheck(
                parsed.model, parsed.hardware, parsed.max_replicas, user_id=command["user_id"]
            )
        except UserError as exc:
            observe.user_error()
            text = exc.message
            if isinstance(exc, PolicyLimit):  # what was typed, to change and send again
                text += f"\nYou typed: {code(COMMAND + ' ' + (command.get('text') or '').strip())}"
            respond(text=text, response_type="ephemeral")
            return
        meta = LaunchFormMeta(channel_id=command["channel_id"], team_id=command["team_id"])
        view = launch_form(
            values,
            catalog=self.catalog,
            hardware=hardware,
            metadata=meta.dump(),
            policy=self.launches.policy,
        )
        client.views_open(trigger_id=command["trigger_id"], view=view)

    def on_form_changed(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """Model, hardware or replicas changed: re-list the hardware and re-quote the estimate."""
        ack()
        view = body["view"]
        values = read_form(view["state"]["values"])
        hardware: list[HardwareOption] | None = None
        problem = None
        if values.model:
            try:
                hardware = self.launches.hardware_for(values.model)
            except UserError as exc:
                observe.user_error()
                problem = exc.message
            if hardware is not None and values.hardware not in {h.id for h in hardware}:
                values.hardware = None
        new_view = launch_form(
            values,
            catalog=self.catalog,
            hardware=hardware,
            metadata=view["private_metadata"],
            hardware_problem=problem,
            policy=self.launches.policy,
        )
        try:
            client.views_update(view_id=view["id"], hash=view.get("hash"), view=new_view)
        except SlackApiError as exc:
            if exc.response.get("error") != "hash_conflict":  # a newer edit is already on its way
                raise

    def on_launch_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = LaunchFormMeta.model_validate_json(view["private_metadata"])
        values = read_form(view["state"]["values"])
        if values.problems:
            ack(response_action="errors", errors=values.problems)
            return
        present = {b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"}
        try:
            self.launches.submit(
                team_id=meta.team_id,
                channel_id=meta.channel_id,
                user_id=body["user"]["id"],
                draft=values.to_draft(),
            )
        except UserError as exc:
            observe.user_error()
            block = FIELD_BLOCKS.get(exc.field or "", Block.MODEL)
            if block not in present:
                block = Block.MODEL
            ack(response_action="errors", errors={block: _short(exc.message)})
            return
        ack()

    # --- approve / reject ---------------------------------------------------------------------

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
        try:
            request = self.launches.withdraw(ref.request_id, user)
            text = f"You withdrew your {request.kind} request #{request.id}. Nothing was done at Together."
        except UserError as exc:
            text = exc.message
        channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
        if channel:
            client.chat_postEphemeral(channel=str(channel), user=user, text=text)
        else:
            client.chat_postMessage(channel=user, text=text)

    def _open_decision(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, *, approve: bool
    ) -> None:
        ack()
        ref = RequestRef.model_validate_json(action["value"])
        user = body["user"]["id"]
        channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
        try:
            request, budget = self.launches.decision_context(ref.request_id, user, approving=approve)
        except UserError as exc:
            observe.user_error()
            if channel:
                client.chat_postEphemeral(channel=str(channel), user=user, text=exc.message)
            else:  # clicked in the App Home tab: no channel to answer in, so a direct message
                client.chat_postMessage(channel=user, text=exc.message)
            return
        ref = RequestRef(
            request_id=request.id,
            channel_id=str(channel) if channel else request.channel_id,
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
        note = _text_value(view, Block.NOTE)
        try:
            self.launches.approve(ref.request_id, body["user"]["id"], note)
        except UserError as exc:
            observe.user_error()
            ack(response_action="errors", errors={Block.NOTE: _short(exc.message)})
            return
        ack()
        self._refresh_home(ref, body["user"]["id"], client)

    def on_reject_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        ref = RequestRef.model_validate_json(view["private_metadata"])
        reason = _text_value(view, Block.REASON) or ""
        try:
            self.launches.reject(ref.request_id, body["user"]["id"], reason)
        except UserError as exc:
            observe.user_error()
            ack(response_action="errors", errors={Block.REASON: _short(exc.message)})
            return
        ack()
        self._refresh_home(ref, body["user"]["id"], client)

    def _refresh_home(self, ref: RequestRef, user: str, client: WebClient) -> None:
        """A decision taken from the App Home tab: show the tab without the request just decided."""
        if ref.home and self.lifecycle is not None:
            self.lifecycle.publish_home(client, user)


def _text_value(view: dict[str, Any], block_id: str) -> str | None:
    value = element_state((view.get("state") or {}).get("values", {}), block_id).get("value")
    return str(value) if value is not None else None


def _short(message: str) -> str:
    """Modal field errors are one or two lines; the first line of a domain message says what is wrong."""
    first = message.strip().splitlines()[0] if message.strip() else "Check this field."
    return first[:300]
