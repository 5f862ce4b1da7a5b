"""Bolt listeners: read the request, call the domain, render the answer. No rules here."""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.catalog import Catalog
from bot.domain.command import CreateCommand, parse_command
from bot.domain.command_help import USAGE
from bot.domain.directory import ModelDirectory
from bot.domain.draft import DEFAULT_INACTIVE_TIMEOUT
from bot.domain.errors import PolicyLimit, UserError
from bot.domain.launch import LaunchService
from bot.domain.provider import HardwareOption
from bot.slack import observe
from bot.slack.clock import Clock
from bot.slack.forms import (
    FormValues,
    checking_view,
    element_state,
    launch_form,
    model_options,
    read_form,
    submitted_view,
)
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
        directory: ModelDirectory | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.launches = launches
        self.catalog = catalog
        self.renderer = renderer
        self.lifecycle = lifecycle  # the sub-commands after launch, and the App Home tab
        self.directory = directory or ModelDirectory(catalog, launches.provider)
        self.clock = clock or Clock()  # work that may ask Together, under Slack's three seconds

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
        app.options(Action.MODEL)(self.on_model_options)
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
        since = time.monotonic()
        values = FormValues.from_command(parsed, DEFAULT_INACTIVE_TIMEOUT)
        try:
            self.launches.precheck_person(parsed.model, parsed.max_replicas, user_id=command["user_id"])
        except UserError as exc:
            observe.user_error()
            respond(text=self._typed(exc, command), response_type="ephemeral")
            return
        # The hardware may have to come from Together, which can take longer than the trigger_id lives:
        # wait for it only briefly, then open the form saying that it is being asked, and fill it in after.
        looked_up = self.clock.attempt(
            lambda: self.launches.precheck_hardware(parsed.model, parsed.hardware, parsed.max_replicas),
            since=since,
        )
        meta = LaunchFormMeta(channel_id=command["channel_id"], team_id=command["team_id"]).dump()
        if looked_up.done():
            try:
                hardware = looked_up.result()
            except UserError as exc:
                observe.user_error()
                respond(text=self._typed(exc, command), response_type="ephemeral")
                return
            client.views_open(trigger_id=command["trigger_id"], view=self._form(values, hardware, meta))
            return
        opened = client.views_open(
            trigger_id=command["trigger_id"], view=self._form(values, None, meta, checking=True)
        )
        self._fill_in(looked_up, values, opened["view"], client)

    @staticmethod
    def _typed(exc: UserError, command: dict[str, Any]) -> str:
        text = exc.message
        if isinstance(exc, PolicyLimit):  # what was typed, to change and send again
            text += f"\nYou typed: {code(COMMAND + ' ' + (command.get('text') or '').strip())}"
        return text

    def _form(
        self,
        values: FormValues,
        hardware: list[HardwareOption] | None,
        metadata: str,
        *,
        checking: bool = False,
        hardware_problem: str | None = None,
        problem: str | None = None,
    ) -> dict[str, Any]:
        return launch_form(
            values,
            catalog=self.catalog,
            hardware=hardware,
            metadata=metadata,
            hardware_problem=hardware_problem,
            policy=self.launches.policy,
            checking=checking,
            problem=problem,
        )

    def _fill_in(
        self,
        looked_up: Future[list[HardwareOption] | None],
        values: FormValues,
        shown: dict[str, Any],
        client: WebClient,
    ) -> None:
        """Once Together has answered, replace the form that says it is asking with the hardware, or with
        Together's answer when there is none. Unless the person changed the form meanwhile (its hash)."""
        hardware: list[HardwareOption] | None = None
        problem: str | None = None
        try:
            hardware = looked_up.result()
        except UserError as exc:
            observe.user_error()
            hardware = self.launches.cached_hardware(values.model) if values.model else None
            if hardware is None or not isinstance(exc, PolicyLimit):  # the estimate says which limit
                problem = exc.message
        if hardware is not None and values.hardware not in {h.id for h in hardware}:
            values.hardware = None
        view = self._form(
            values,
            hardware,
            shown["private_metadata"],
            hardware_problem=problem if hardware is None else None,
            problem=problem if hardware is not None else None,
        )
        self._update(client, shown, view)

    def on_model_options(self, ack: Ack, payload: dict[str, Any]) -> None:
        """The model menu's type-ahead: answered from memory, never by asking Together (Slack waits 3 s)."""
        ack(options=model_options(self.directory.search(str(payload.get("value") or ""))))

    def on_form_changed(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """Model, hardware or replicas changed: re-list the hardware and re-quote the estimate."""
        ack()
        since = time.monotonic()
        view = body["view"]
        values = read_form(view["state"]["values"])
        if not values.model:
            new_view = self._form(values, None, view["private_metadata"])
            self._update(client, view, new_view)
            return
        model = values.model

        def look_up() -> list[HardwareOption] | None:
            return self.launches.hardware_for(model)

        looked_up = self.clock.attempt(look_up, since=since)
        if not looked_up.done():  # say that Together is being asked, then show its answer
            shown = self._update(
                client, view, self._form(values, None, view["private_metadata"], checking=True)
            )
            if shown is None:
                return
            view = shown
        self._fill_in(looked_up, values, view, client)

    @staticmethod
    def _update(client: WebClient, view: dict[str, Any], new_view: dict[str, Any]) -> dict[str, Any] | None:
        """Replace `view` unless the person changed it since (that change re-renders it: `hash_conflict`) or
        closed it (`not_found`). Returns the view now shown, or None."""
        try:
            response = client.views_update(view_id=view["id"], hash=view.get("hash"), view=new_view)
        except SlackApiError as exc:
            if exc.response.get("error") not in ("hash_conflict", "not_found"):
                raise
            return None
        shown: dict[str, Any] = response["view"]
        return shown

    def on_launch_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        """Checked from what is known within Slack's clock; when Together must be asked and is slow, the form
        says that it is checking, and then shows the request recorded, or what is wrong."""
        since = time.monotonic()
        meta = LaunchFormMeta.model_validate_json(view["private_metadata"])
        values = read_form(view["state"]["values"])
        if values.problems:
            ack(response_action="errors", errors=values.problems)
            return
        present = {b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"}
        user = body["user"]["id"]
        submitted = self.clock.attempt(
            lambda: self.launches.submit(
                team_id=meta.team_id, channel_id=meta.channel_id, user_id=user, draft=values.to_draft()
            ),
            since=since,
        )
        if submitted.done():
            try:
                submitted.result()
            except UserError as exc:
                observe.user_error()
                ack(response_action="errors", errors={_field_block(exc, present): _short(exc.message)})
                return
            ack()
            return
        ack(response_action="update", view=checking_view(values, view["private_metadata"], meta.channel_id))
        try:
            request = submitted.result()
        except Exception as exc:
            if isinstance(exc, UserError):
                observe.user_error()
                problem = exc.message
            else:  # a bug: the person is told, with a reference to give whoever runs the bot
                ref = uuid.uuid4().hex[:8]
                log.error("launch form failed after it was acknowledged (ref %s)", ref, exc_info=exc)
                problem = (
                    f"Something went wrong on the bot's side (reference `{ref}`), and the request was not "
                    "recorded. Try again; if it keeps happening, give the reference to whoever runs the bot."
                )
            outcome = self._form(
                values,
                self.launches.cached_hardware(values.model) if values.model else None,
                view["private_metadata"],
                problem=problem,
            )
            told = f"Your launch request was not recorded: {problem}"
        else:
            outcome = submitted_view(request.id, meta.channel_id)
            told = f"Launch request #{request.id} is recorded; its card is in <#{meta.channel_id}>."
        try:
            client.views_update(view_id=view["id"], view=outcome)
        except SlackApiError as exc:
            if exc.response.get("error") != "not_found":
                raise
            client.chat_postEphemeral(channel=meta.channel_id, user=user, text=told)  # they closed it

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


def _field_block(exc: UserError, present: set[Any]) -> str:
    """The input block that shows a domain error: the field at fault, or the model when it is not on show."""
    block = FIELD_BLOCKS.get(exc.field or "", Block.MODEL)
    return block if block in present else Block.MODEL


def _text_value(view: dict[str, Any], block_id: str) -> str | None:
    value = element_state((view.get("state") or {}).get("values", {}), block_id).get("value")
    return str(value) if value is not None else None


def _short(message: str) -> str:
    """Modal field errors are one or two lines; the first line of a domain message says what is wrong."""
    first = message.strip().splitlines()[0] if message.strip() else "Check this field."
    return first[:300]
