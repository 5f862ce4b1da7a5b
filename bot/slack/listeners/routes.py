"""Which listener answers what: `/endpoint` routed by its sub-command, and every action, dialog and event
registered with the Bolt app, each through the one error path (bot/slack/listeners/errors.py)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.domain.catalog import Catalog
from bot.domain.command import CreateCommand, parse_command
from bot.domain.command_help import USAGE
from bot.domain.directory import ModelDirectory
from bot.domain.launch import LaunchService
from bot.slack.clock import Clock
from bot.slack.ids import COMMAND
from bot.slack.listeners.decisions import DecisionListeners
from bot.slack.listeners.endpoints import LifecycleListeners
from bot.slack.listeners.errors import guarded
from bot.slack.listeners.home import HomeListeners
from bot.slack.listeners.launch import LaunchListeners
from bot.slack.views.renderer import Renderer


class Listeners:
    """Every listener of the bot. `lifecycle`: the sub-commands after launch, and the App Home tab."""

    def __init__(
        self,
        launches: LaunchService,
        catalog: Catalog,
        renderer: Renderer,
        lifecycle: LifecycleListeners | None = None,
        directory: ModelDirectory | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.catalog = catalog
        self.launch = LaunchListeners(launches, catalog, directory, clock)
        self.lifecycle = lifecycle
        self.home = (
            HomeListeners(lifecycle.lifecycle, lifecycle.permalinks) if lifecycle is not None else None
        )
        self.decisions = DecisionListeners(
            launches, renderer, self.home.publish_home if self.home is not None else None
        )

    def register(self, app: App) -> None:
        app.command(COMMAND)(guarded(self.on_command))
        self.launch.register(app)
        self.decisions.register(app)
        if self.lifecycle is not None:
            self.lifecycle.register(app)
        if self.home is not None:
            self.home.register(app)

    def on_command(self, ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        # A mistake is answered with the commands this person may use (no `delete` for the others).
        allowed = (
            self.lifecycle.lifecycle.commands_for(command["user_id"]) if self.lifecycle is not None else None
        )
        parsed = parse_command(command.get("text") or "", self.catalog, commands=allowed)
        if self.lifecycle is not None and self.lifecycle.handles(parsed):
            self.lifecycle.on_command(parsed, ack=ack, command=command, respond=respond, client=client)
            return
        if not isinstance(parsed, CreateCommand):  # help, or a sub-command nobody wired in
            ack(text=USAGE)
            return
        self.launch.on_create(parsed, ack=ack, command=command, client=client)
