"""The pretend Slack's side of interactivity: the trigger_ids it issues and the response_urls it serves.

A trigger_id is good for one view, for 3 seconds after the interaction that carried it; a response_url for
five answers, each checked like a message.  (Slack's 3 seconds for the app's own ack are the sender's
clock: see :data:`bot.sandbox.slack_requests.SLACK_ACK_SECONDS`.)
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from bot.sandbox.fake_slack_http import Reply, decode_json_params
from bot.sandbox.fake_slack_state import SlackState
from bot.sandbox.slack_types import Call, ResponseContext, parse_response_tag, truthy
from bot.slack.clock import SLACK_CLOCK

MAX_RESPONSE_URL_USES = 5
# A trigger_id is good for 3 seconds after the interaction that carried it, and for one view:
# https://docs.slack.dev/interactivity/handling-user-interaction#modal_responses
TRIGGER_SECONDS = SLACK_CLOCK


class Interactivity(SlackState):
    """Issues trigger_ids and response_urls, takes trigger_ids back, and answers response_url POSTs."""

    def response_url(
        self,
        tag: str,
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """A response_url on the fake.  Give the context (or use a :func:`make_response_tag` tag) so
        that responses show up in the right channel, to the right user, or replace the right message."""
        if channel is not None or user is not None or message_ts is not None:
            with self._lock:
                self._response_contexts[tag] = ResponseContext(channel, user, message_ts)
        return f"{self.root_url}respond/{quote(tag, safe='~.-_')}"

    def trigger_id(self, user_id: str) -> str:
        """Issue a fresh trigger_id for ``user_id``; views opened with it belong to that user."""
        with self._lock:
            seq = next(self._trigger_seq)
            trigger = f"{int(time.time() * 1000)}{seq:04d}.{seq}.{secrets.token_hex(16)}"
            self._trigger_users[trigger] = user_id
            self._trigger_times[trigger] = self.clock()
        return trigger

    def _take_trigger(self, params: Mapping[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
        trigger = params.get("trigger_id") or params.get("interactivity_pointer")
        if not trigger:
            return None, {"ok": False, "error": "invalid_arguments"}
        if trigger in self._used_triggers:
            return None, {"ok": False, "error": "exchanged_trigger_id"}
        issued = self._trigger_times.get(str(trigger))
        if issued is None:  # Slack never issued it (made up, or from another workspace)
            return None, {"ok": False, "error": "invalid_trigger_id"}
        if self.clock() - issued > TRIGGER_SECONDS:
            return None, {"ok": False, "error": "expired_trigger_id"}
        return str(trigger), None

    # ---- response_url

    def handle_response_url(self, tag: str, payload: Any, headers: Mapping[str, str]) -> Reply:
        with self._lock:
            reply = self._respond(tag, payload)
        self._record(
            Call(
                method="response_url",
                params=copy.deepcopy(payload) if isinstance(payload, dict) else {"_raw": payload},
                headers=dict(headers),
                at=time.time(),
                status=reply.status,
                response=reply.body,
                tag=tag,
                response_headers=dict(reply.headers),
                problems=list(reply.problems),
            )
        )
        return reply

    def _respond(self, tag: str, payload: Any) -> Reply:
        rule = self._failures.take("response_url")
        if rule is not None:
            failed = rule.reply()
            return Reply(failed.status, failed.body["error"], failed.headers)
        if not isinstance(payload, dict):
            return Reply(400, "invalid_payload")
        uses = self._response_url_uses.get(tag, 0)
        if uses >= MAX_RESPONSE_URL_USES:
            return Reply(404, "used_url")
        payload = decode_json_params(payload)
        delete = truthy(payload.get("delete_original"))
        if not delete and not self._has_content(payload):
            return Reply(400, "no_text")
        refused = self._refuse_message(payload)
        if refused:
            # A response_url answers in plain text: the error alone (the reasons are on the Call).
            return Reply(400, refused["error"], problems=refused["errors"])
        self._response_url_uses[tag] = uses + 1

        ctx = self._response_contexts.get(tag) or parse_response_tag(tag) or ResponseContext()
        original = None
        if ctx.message_ts:
            original = self._find_message(ctx.channel, ctx.message_ts) or self._find_ephemeral(
                ctx.channel, ctx.message_ts
            )
        if delete:
            if original is not None:
                if original.ephemeral_for is not None:
                    self._ephemerals.remove(original)
                else:
                    self._messages[original.channel].remove(original)
            return Reply(200, "ok")
        if truthy(payload.get("replace_original")) and original is not None:
            self._edit(original, payload)
            return Reply(200, "ok")

        channel = ctx.channel or ""
        if payload.get("response_type") == "in_channel":
            _, root = self._thread_root(channel, payload.get("thread_ts"))
            msg = self._new_message(channel, payload, root)
            self._messages.setdefault(channel, []).append(msg)
        else:
            msg = self._new_message(channel, payload, payload.get("thread_ts") or None)
            msg.ephemeral_for = ctx.user or ""
            self._ephemerals.append(msg)
        return Reply(200, "ok")
