"""What the bot measures of its Slack traffic, in both directions.

- Requests from Slack: `ObservedApp.dispatch` times each one up to its acknowledgement (what Slack's three
  seconds apply to) and counts it by kind and outcome once its listener has finished: `ok`, `user_error`
  (the person was told what to fix: the listeners' error path, bot/slack/listeners/errors.py, calls
  `user_error()`) or `error` (the app's error handler ran).
  Listeners run on a `ContextExecutor`, which carries the request's record and log fields to their thread.
- Calls to Slack: `ObservedWebClient` counts every Web API call by method and outcome, and tells the
  token's `TokenHealth` whether Slack accepted the token (readiness, see bot/readiness.py).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.request.payload_utils import (
    is_action,
    is_event,
    is_options,
    is_slash_command,
    is_view_closed,
    is_view_submission,
)
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot import metrics
from bot.logs import bind
from bot.slack.token_health import TokenHealth


@dataclass
class RequestRecord:
    kind: str
    outcome: str = "ok"
    listener_started: bool = False
    _counted: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def mark(self, outcome: str) -> None:
        if outcome == "error" or self.outcome == "ok":  # an error outranks a user error
            self.outcome = outcome

    def count(self) -> None:
        with self._lock:
            if self._counted:
                return
            self._counted = True
        metrics.count_slack_request(self.kind, self.outcome)


_current: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar("slack_request", default=None)


def user_error() -> None:
    """The listener told the person what to fix (a refusal, a form error): count the request as such."""
    record = _current.get()
    if record is not None:
        record.mark("user_error")


def failed() -> None:
    """Something failed on the bot's side while handling the current request."""
    record = _current.get()
    if record is not None:
        record.mark("error")


def request_kind(body: dict[str, Any]) -> str | None:
    if is_slash_command(body):
        return "command"
    if is_view_submission(body) or is_view_closed(body):
        return "view_submission"
    if is_options(body):
        return "options"
    if is_action(body):
        return "action"
    if is_event(body):
        return "event"
    return None  # url_verification, ssl_check: Slack's own checks, not people's requests


def slack_user(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if isinstance(user, dict):
        return user.get("id")
    event = body.get("event")
    if isinstance(event, dict) and isinstance(event.get("user"), str):
        return str(event["user"])
    return body.get("user_id") if isinstance(body.get("user_id"), str) else None


class ContextExecutor(ThreadPoolExecutor):
    """Runs each listener in a copy of the submitting thread's context, and counts its request once the
    listener (the first function submitted for the request) has finished."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        context = contextvars.copy_context()
        record = context.get(_current)
        if record is None or record.listener_started:
            return super().submit(context.run, fn, *args, **kwargs)
        record.listener_started = True

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            except BaseException:
                record.mark("error")
                raise
            finally:
                record.count()

        return super().submit(context.run, run)


class ObservedApp(App):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use(self._observed_client)

    def _observed_client(self, req: BoltRequest, next: Callable[[], None]) -> None:
        """Bolt gives each request a fresh WebClient; make it one that is counted and watches the token."""
        plain = req.context.client
        if plain is not None and not isinstance(plain, ObservedWebClient):
            client = ObservedWebClient(
                token=plain.token,
                base_url=plain.base_url,
                timeout=plain.timeout,
                ssl=plain.ssl,
                proxy=plain.proxy,
                headers=plain.headers,
                team_id=req.context.team_id,
                logger=plain.logger,
                retry_handlers=plain.retry_handlers,
            )
            client.token_health = getattr(self.client, "token_health", None)
            req.context["client"] = client
        next()

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        kind = request_kind(req.body)
        if kind is None:
            return super().dispatch(req)
        started = time.perf_counter()
        record = RequestRecord(kind)
        context = contextvars.copy_context()
        response: BoltResponse = context.run(self._dispatch_observed, req, record)
        metrics.observe_ack(time.perf_counter() - started)
        if not record.listener_started:  # no listener ran: refused (signature) or nothing listens to it
            if response.status >= 500:
                record.mark("error")
            elif response.status >= 400:
                return response  # not a request anyone made through Slack's client
            record.count()
        return response

    def _dispatch_observed(self, req: BoltRequest, record: RequestRecord) -> BoltResponse:
        _current.set(record)
        bind(user_id=slack_user(req.body))
        return super().dispatch(req)


class ObservedWebClient(WebClient):
    """A WebClient that counts its calls and reports what Slack says of the token."""

    token_health: TokenHealth | None = None

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "error") if exc.response is not None else "error"
            metrics.count_slack_call(api_method, error)
            if self.token_health is not None:
                self.token_health.saw_error(error)
            raise
        except Exception:
            metrics.count_slack_call(api_method, "unreachable")
            raise
        metrics.count_slack_call(api_method, "ok")
        if self.token_health is not None:
            self.token_health.accepted()
        return response
