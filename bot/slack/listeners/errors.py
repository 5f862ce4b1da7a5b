"""The one error path of the listeners: a domain error (UserError) is the person's to fix and is told to
them where they acted; anything else goes on to the app's error handler (bot/slack/app.py), which logs it
with a reference and tells the person something went wrong.

Every listener is registered through `guarded`: its own code holds no `try/except UserError`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.errors import UserError
from bot.slack import observe
from bot.slack.ids import Block
from bot.slack.views.endpoints import error_text

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

# Bolt passes a listener the arguments it names; the error path needs these whatever the listener names.
_NEEDED = ("ack", "body", "client", "respond")

Answer = Callable[[str, dict[str, Any], WebClient], None]


def guarded(listener: Callable[..., Any], *, answer: Answer | None = None) -> Callable[..., Any]:
    """`listener`, with a UserError it raises told to the person: as the acknowledgement when it has not
    acknowledged yet (a command's private answer, a form's field error), else privately where they acted.
    `answer(text, body, client)` replaces the last when the listener knows a better place."""
    names = list(inspect.signature(listener).parameters)

    def run(**kwargs: Any) -> Any:
        try:
            return listener(**{name: kwargs[name] for name in names})
        except UserError as exc:
            observe.user_error()
            tell(
                exc,
                ack=kwargs["ack"],
                body=kwargs["body"],
                client=kwargs["client"],
                respond=kwargs.get("respond"),
                answer=answer,
            )
            return None

    # Bolt reads the argument names from the signature: the listener's, and what the error path needs.
    params = dict.fromkeys([*names, *_NEEDED])
    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in params]
    )
    run.__name__ = getattr(listener, "__name__", "listener")
    run.__qualname__ = getattr(listener, "__qualname__", run.__name__)
    run.__doc__ = listener.__doc__
    return run


def tell(
    exc: UserError,
    *,
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    respond: Any = None,
    answer: Answer | None = None,
) -> None:
    text = error_text(exc)
    kind = observe.request_kind(body)
    if ack.response is None:
        if kind == "view_submission" and answer is None:
            ack(response_action="errors", errors={error_block(exc, body.get("view") or {}): short(text)})
            return
        if kind == "command":
            ack(text=text)  # shown only to the person who typed the command
            return
        ack()
    if answer is not None:
        answer(text, body, client)
    elif kind == "command" and respond is not None:
        respond(text=text, response_type="ephemeral")
    elif (user := observe.slack_user(body)) is not None:
        channel = channel_of(body)
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:  # clicked in the App Home tab: no channel to answer in, so a direct message
            client.chat_postMessage(channel=user, text=text)


def error_block(exc: UserError, view: dict[str, Any]) -> str:
    """The input block that shows a domain error: the field at fault, or the first field when that one is
    not on show (the launch form's model; a decision dialog's note or reason)."""
    inputs = [str(b.get("block_id")) for b in view.get("blocks", []) if b.get("type") == "input"]
    block = FIELD_BLOCKS.get(exc.field or "")
    if block in inputs:
        return block
    return inputs[0] if inputs else Block.MODEL


def short(message: str) -> str:
    """Modal field errors are one or two lines; the first line of a domain message says what is wrong."""
    first = message.strip().splitlines()[0] if message.strip() else "Check this field."
    return first[:300]


def channel_of(body: dict[str, Any]) -> str | None:
    channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
    return str(channel) if channel else None
