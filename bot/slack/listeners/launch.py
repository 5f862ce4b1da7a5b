"""The launch form: opened by `/endpoint create`, re-quoted as it changes, checked when submitted.

Work that may ask Together runs under Slack's three-second clock (bot/slack/clock.py): when Together is
slow, the form says that it is checking, and shows the answer after.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.catalog import Catalog
from bot.domain.command import CreateCommand
from bot.domain.directory import ModelDirectory
from bot.domain.draft import DEFAULT_INACTIVE_TIMEOUT
from bot.domain.errors import PolicyLimit, UserError
from bot.domain.launch import LaunchService
from bot.domain.provider import HardwareOption
from bot.slack import observe
from bot.slack.clock import Clock
from bot.slack.ids import COMMAND, Action, Callback
from bot.slack.listeners.errors import guarded
from bot.slack.metadata import LaunchFormMeta
from bot.slack.text import code
from bot.slack.views.launch_form import (
    FormValues,
    checking_view,
    launch_form,
    model_options,
    read_form,
    submitted_view,
)

log = logging.getLogger(__name__)


class LaunchListeners:
    def __init__(
        self,
        launches: LaunchService,
        catalog: Catalog,
        directory: ModelDirectory | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.launches = launches
        self.catalog = catalog
        self.directory = directory or ModelDirectory(catalog, launches.provider)
        self.clock = clock or Clock()  # work that may ask Together, under Slack's three seconds

    def register(self, app: App) -> None:
        for action in (
            Action.MODEL,
            Action.HARDWARE,
            Action.MIN_REPLICAS,
            Action.MAX_REPLICAS,
            Action.INACTIVE_TIMEOUT,
        ):
            app.block_action({"action_id": action})(guarded(self.on_form_changed))
        app.options(Action.MODEL)(self.on_model_options)
        app.view(Callback.LAUNCH_FORM)(guarded(self.on_launch_submitted))

    # --- /endpoint create ---------------------------------------------------------------------

    def on_create(
        self, parsed: CreateCommand, *, ack: Ack, command: dict[str, Any], client: WebClient
    ) -> None:
        """Open the form prefilled from the command, once the person may ask for this at all."""
        ack()
        since = time.monotonic()
        values = FormValues.from_command(parsed, DEFAULT_INACTIVE_TIMEOUT)
        with _as_typed(command):
            self.launches.precheck_person(parsed.model, parsed.max_replicas, user_id=command["user_id"])
        # The hardware may have to come from Together, which can take longer than the trigger_id lives:
        # wait for it only briefly, then open the form saying that it is being asked, and fill it in after.
        looked_up = self.clock.attempt(
            lambda: self.launches.precheck_hardware(parsed.model, parsed.hardware, parsed.max_replicas),
            since=since,
        )
        meta = LaunchFormMeta(channel_id=command["channel_id"], team_id=command["team_id"]).dump()
        if looked_up.done():
            with _as_typed(command):
                hardware = looked_up.result()
            client.views_open(trigger_id=command["trigger_id"], view=self._form(values, hardware, meta))
            return
        opened = client.views_open(
            trigger_id=command["trigger_id"], view=self._form(values, None, meta, checking=True)
        )
        self._fill_in(looked_up, values, opened["view"], client)

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
        except UserError as exc:  # shown in the form, not as an error of this request
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

    # --- the form changing --------------------------------------------------------------------

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

    # --- the form submitted -------------------------------------------------------------------

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
        user = body["user"]["id"]
        submitted = self.clock.attempt(
            lambda: self.launches.submit(
                team_id=meta.team_id, channel_id=meta.channel_id, user_id=user, draft=values.to_draft()
            ),
            since=since,
        )
        if submitted.done():
            submitted.result()  # a UserError goes to the field at fault (bot/slack/listeners/errors.py)
            ack()
            return
        ack(response_action="update", view=checking_view(values, view["private_metadata"], meta.channel_id))
        try:
            request = submitted.result()
        except Exception as exc:  # the form is acknowledged: what went wrong is shown in it
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


@contextlib.contextmanager
def _as_typed(command: dict[str, Any]) -> Iterator[None]:
    """A policy limit of `/endpoint create` also shows what was typed, to change and send again."""
    try:
        yield
    except PolicyLimit as exc:
        typed = code(COMMAND + " " + (command.get("text") or "").strip())
        raise PolicyLimit(f"{exc.message}\nYou typed: {typed}", field=exc.field) from exc
