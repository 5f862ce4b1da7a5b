"""The one Bolt app factory, used by `bot run`, the tests and the local shell."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.domain.errors import UserError
from bot.slack import observe
from bot.slack.listeners.routes import Listeners
from bot.slack.observe import ContextExecutor, ObservedApp, ObservedWebClient

log = logging.getLogger(__name__)


def make_web_client(token: str, base_url: str) -> ObservedWebClient:
    """A Web API client that rides out Slack's 429s (honouring Retry-After), 5xx and dropped connections."""
    return ObservedWebClient(
        token=token,
        base_url=base_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def make_publisher_client(token: str, base_url: str) -> ObservedWebClient:
    """For the outbox, which retries itself: durably, honouring Retry-After, and checking before it posts
    again whenever an earlier attempt may have reached Slack (a 5xx or a dropped connection can hide a
    post that happened). A second, in-thread retry layer would only hold up the other notifications."""
    return ObservedWebClient(token=token, base_url=base_url, timeout=15, retry_handlers=[])


def build_app(*, client: WebClient, signing_secret: str, listeners: Listeners, workers: int = 16) -> App:
    with _bolt_env_hidden():
        app = ObservedApp(
            client=client,
            signing_secret=signing_secret,
            process_before_response=False,
            raise_error_for_unhandled_request=False,
            listener_executor=ContextExecutor(max_workers=workers, thread_name_prefix="bolt"),
        )
    listeners.register(app)
    app.error(_on_error)
    return app


_BOLT_ENV = ("SLACK_BOT_TOKEN",)
_bolt_env_lock = threading.Lock()


@contextlib.contextmanager
def _bolt_env_hidden() -> Iterator[None]:
    """Bolt's App reads SLACK_BOT_TOKEN from the environment even when given a client (which already
    carries the token from our settings), then warns at every start that "`token` will be unused". The
    settings are the one reader of the environment: hide the variable from Bolt while it is built."""
    with _bolt_env_lock:
        saved = {name: os.environ.pop(name) for name in _BOLT_ENV if name in os.environ}
        try:
            yield
        finally:
            os.environ.update(saved)


def _on_error(error: Exception, body: dict[str, Any], respond: Any, client: WebClient) -> BoltResponse | None:
    """Anything a listener did not expect: log it with a reference, tell the person something went wrong."""
    if isinstance(error, UserError):  # raised where no listener's error path runs: still the person's to fix
        observe.user_error()
    else:
        observe.failed()
    ref = uuid.uuid4().hex[:8]
    log.error(
        "unhandled error (ref %s) for %s: %s",
        ref,
        body.get("type") or body.get("command"),
        error,
        exc_info=error,
    )
    text = (
        f":warning: Something went wrong on the bot's side (reference `{ref}`). Nothing was launched by this "
        "action. Try again; if it keeps happening, give the reference to whoever runs the bot."
    )
    try:
        if body.get("response_url") and respond is not None:
            respond(text=text, response_type="ephemeral", replace_original=False)
        elif (user := (body.get("user") or {}).get("id") or body.get("user_id")) and (
            channel := (body.get("container") or {}).get("channel_id") or body.get("channel_id")
        ):
            client.chat_postEphemeral(channel=channel, user=user, text=text)
    except Exception:  # the report itself must never raise
        log.exception("could not tell the user about error %s", ref)
    return None
