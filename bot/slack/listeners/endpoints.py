"""Listeners for running endpoints: the `/endpoint` sub-commands after `create`, the stop and delete
confirmations, and a reminder's buttons. They call LifecycleService and render; no rules here.

Whatever needs Together happens after `ack()`; the answer goes to the person through the command's
`response_url` (ephemeral, works in any channel), and the record to the endpoint's thread via the outbox.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.domain.changes import ChangeAsked
from bot.domain.command import (
    Command,
    DeleteCommand,
    HardwareCommand,
    HelpCommand,
    HistoryCommand,
    ListCommand,
    RenameCommand,
    ScaleCommand,
    SpendCommand,
    StartCommand,
    StatusCommand,
    StopCommand,
    TimeoutCommand,
)
from bot.domain.errors import UserError
from bot.domain.lifecycle import LifecycleService
from bot.domain.policy.access import Act
from bot.domain.reminders import Reminders
from bot.domain.running import Managed, Outcome
from bot.slack.ids import Action, Callback
from bot.slack.listeners.errors import channel_of, guarded
from bot.slack.listeners.links import Permalinks
from bot.slack.listeners.spend import SpendAnswers
from bot.slack.metadata import EndpointActionMeta, EndpointRef
from bot.slack.views import endpoints as views
from bot.slack.views import history

log = logging.getLogger(__name__)

HANDLED = (
    HelpCommand,
    ListCommand,
    StatusCommand,
    StopCommand,
    StartCommand,
    DeleteCommand,
    ScaleCommand,
    RenameCommand,
    TimeoutCommand,
    HardwareCommand,
    HistoryCommand,
    SpendCommand,
)


class LifecycleListeners:
    def __init__(
        self,
        lifecycle: LifecycleService,
        reminders: Reminders | None = None,
        spend: SpendAnswers | None = None,
    ) -> None:
        self.lifecycle = lifecycle
        self.reminders = reminders
        self.spend = spend  # `/endpoint spend`: text, chart and CSV
        self.permalinks = Permalinks()

    def register(self, app: App) -> None:
        confirmed = guarded(self.on_confirmed, answer=self._answer_confirmed)
        app.view(Callback.STOP_CONFIRM)(confirmed)
        app.view(Callback.DELETE_CONFIRM)(confirmed)
        app.action(Action.KEEP_RUNNING)(guarded(self.on_keep_running))
        app.action(Action.STOP_NOW)(guarded(self.on_stop_now))

    @staticmethod
    def handles(parsed: Command) -> bool:
        return isinstance(parsed, HANDLED)

    # --- /endpoint <sub-command> ---------------------------------------------------------------

    def on_command(
        self, parsed: Command, *, ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        user = command["user_id"]
        if isinstance(parsed, HelpCommand):
            privileged = self.lifecycle.policy.is_privileged(user)
            ack(text=views.help_text(self.lifecycle.commands_for(user), privileged))
            return
        if isinstance(parsed, (StopCommand, DeleteCommand)):
            self._confirm(parsed, ack=ack, command=command, client=client)
            return
        if isinstance(parsed, (StartCommand, ScaleCommand, RenameCommand, TimeoutCommand)):
            self._act(parsed, ack=ack, user=user, respond=respond, client=client)
            return
        ack()
        text, blocks = self._read(parsed, user, client)
        respond(text=text, blocks=blocks, response_type="ephemeral")

    def _read(self, parsed: Command, user: str, client: WebClient) -> tuple[str, list[dict[str, Any]] | None]:
        """list, status, spend, hardware, history: (text, blocks) to show the person."""
        if isinstance(parsed, ListCommand):
            listing = self.lifecycle.listing(user, parsed.scope)
            links = self.permalinks.for_requests(client, [m.request for m in listing.endpoints])
            return views.listing_blocks(listing, parsed.scope, links)
        if isinstance(parsed, StatusCommand):
            status = self.lifecycle.status(parsed.ref)
            requests = [status.managed.request] if status.managed else []
            return views.status_blocks(status, self.permalinks.for_requests(client, requests))
        if isinstance(parsed, SpendCommand):
            if self.spend is None:
                raise UserError("Spend views are not wired into this bot.")
            return self.spend.answer(parsed, user, client)
        if isinstance(parsed, HardwareCommand):
            return views.hardware_text(parsed.model, self.lifecycle.hardware(parsed.model)), None
        assert isinstance(parsed, HistoryCommand)
        managed, entries = self.lifecycle.history(parsed.ref)
        return history.history_text(managed, entries), None

    def _confirm(
        self, parsed: StopCommand | DeleteCommand, *, ack: Ack, command: dict[str, Any], client: WebClient
    ) -> None:
        """Stop and delete: check what can be checked now, then ask in a dialog."""
        act = Act.STOP if isinstance(parsed, StopCommand) else Act.DELETE
        managed = self.lifecycle.prepare(act, parsed.ref, command["user_id"])
        ack()
        self._open_confirm(
            act,
            managed,
            client,
            trigger_id=command["trigger_id"],
            user=command["user_id"],
            channel=command.get("channel_id"),
            response_url=command.get("response_url"),
        )

    def _open_confirm(
        self,
        act: Act,
        managed: Managed,
        client: WebClient,
        *,
        trigger_id: str,
        user: str,
        channel: str | None,
        response_url: str | None = None,
    ) -> None:
        meta = EndpointActionMeta(
            endpoint_id=managed.id, act=act.value, user_id=user, channel_id=channel, response_url=response_url
        )
        client.views_open(trigger_id=trigger_id, view=views.confirm_modal(act, managed, meta))

    # --- a reminder's buttons ------------------------------------------------------------------

    def on_keep_running(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        ref = EndpointRef.model_validate_json(action["value"])
        user, channel = body["user"]["id"], channel_of(body)
        if self.reminders is None:
            raise UserError("Reminders are off in this bot. Nothing was done.")
        self.reminders.keep(ref.endpoint_id, user)
        hours = self.reminders.interval.total_seconds() / 3600 if self.reminders.interval else 0
        text = f"Kept running: the next reminder comes in {hours:g} h if it still runs."
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=text)

    def on_stop_now(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        """The stop confirmation, as `/endpoint stop` opens it, with the same rules."""
        ack()
        ref = EndpointRef.model_validate_json(action["value"])
        user, channel = body["user"]["id"], channel_of(body)
        managed = self.lifecycle.prepare(Act.STOP, ref.endpoint_id, user)
        self._open_confirm(
            Act.STOP, managed, client, trigger_id=body["trigger_id"], user=user, channel=channel
        )

    def _act(
        self,
        parsed: StartCommand | ScaleCommand | RenameCommand | TimeoutCommand,
        *,
        ack: Ack,
        user: str,
        respond: Respond,
        client: WebClient,
    ) -> None:
        """start, scale, rename, timeout: checked before the ack, done after it."""
        act = {
            StartCommand: Act.START,
            ScaleCommand: Act.SCALE,
            RenameCommand: Act.RENAME,
            TimeoutCommand: Act.TIMEOUT,
        }[type(parsed)]
        managed = self.lifecycle.prepare(act, parsed.ref, user)
        ack()
        outcome = self._do(parsed, managed, user)
        links = self.permalinks.for_requests(client, [managed.request])
        respond(text=views.outcome_text(outcome, links), response_type="ephemeral")

    def _do(
        self,
        parsed: StartCommand | ScaleCommand | RenameCommand | TimeoutCommand,
        managed: Managed,
        user: str,
    ) -> Outcome | ChangeAsked:
        if isinstance(parsed, StartCommand):
            return self.lifecycle.start(managed.id, user)
        if isinstance(parsed, ScaleCommand):
            return self.lifecycle.scale(managed.id, user, parsed.min_replicas, parsed.max_replicas)
        if isinstance(parsed, RenameCommand):
            return self.lifecycle.rename(managed.id, user, parsed.display_name)
        return self.lifecycle.set_timeout(managed.id, user, parsed.minutes)

    # --- confirmation dialogs ------------------------------------------------------------------

    def on_confirmed(self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        meta = EndpointActionMeta.model_validate_json(view["private_metadata"])
        ack()  # close the dialog; Together may take longer than Slack waits for an answer
        user = body["user"]["id"]
        act = Act(meta.act)
        if act is Act.STOP:
            outcome = self.lifecycle.stop(meta.endpoint_id, user)
        elif act is Act.DELETE:
            outcome = self.lifecycle.delete(meta.endpoint_id, user)
        else:
            raise ValueError(f"no confirmation for {act}")
        links = self.permalinks.for_requests(client, [outcome.after.request])
        self._tell(meta, user, views.outcome_text(outcome, links), client)

    def _answer_confirmed(self, text: str, body: dict[str, Any], client: WebClient) -> None:
        """A refusal after the dialog closed: told where the command was typed, like the outcome."""
        meta = EndpointActionMeta.model_validate_json(body["view"]["private_metadata"])
        self._tell(meta, body["user"]["id"], text, client)

    def _tell(self, meta: EndpointActionMeta, user: str, text: str, client: WebClient) -> None:
        """Answer privately where the command was typed."""
        if meta.response_url and user == meta.user_id:
            try:
                response = WebhookClient(meta.response_url).send(
                    text=text, response_type="ephemeral", replace_original=False
                )
                if response.status_code == 200:
                    return
                log.info("response_url answered %s; trying chat.postEphemeral", response.status_code)
            except Exception as exc:  # an expired or unreachable response_url: fall back below
                log.info("response_url failed (%s); trying chat.postEphemeral", exc)
        if meta.channel_id:
            client.chat_postEphemeral(channel=meta.channel_id, user=user, text=text)
