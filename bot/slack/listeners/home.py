"""The App Home tab: rendered from the database each time a person opens it (or decides from it)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.domain.lifecycle import LifecycleService
from bot.slack.listeners.errors import guarded
from bot.slack.listeners.links import Permalinks
from bot.slack.views.home import home_view


class HomeListeners:
    def __init__(self, lifecycle: LifecycleService, permalinks: Permalinks) -> None:
        self.lifecycle = lifecycle
        self.permalinks = permalinks

    def register(self, app: App) -> None:
        app.event("app_home_opened")(guarded(self.on_home_opened))

    def on_home_opened(self, event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        self.publish_home(client, str(event["user"]))

    def publish_home(self, client: WebClient, user: str) -> None:
        """Render the user's Home tab from the database: their endpoints, and what waits for them."""
        home = self.lifecycle.home(user)
        links = self.permalinks.for_requests(client, [m.request for m in home.mine] + home.waiting)
        client.views_publish(user_id=user, view=home_view(home, links))
