"""The pretend Slack's ``views.*`` methods and modal stacks: open, push, update, publish (App Home), and
what Slack does with the app's answer to a submission (``response_action``).

Slack's refusals included: a used or expired trigger_id, a view it would not render, more than three
views on a stack, a stale ``hash``, a taken ``external_id``.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from bot.sandbox import block_kit_rules
from bot.sandbox.fake_slack_interactivity import Interactivity
from bot.sandbox.fake_slack_state import ViewRecord
from bot.sandbox.slack_types import APP_ID, BOT_ID, SlackRefused, ensure_block_ids, truthy

METHODS = frozenset({"views.open", "views.update", "views.push", "views.publish"})
MAX_VIEW_STACK = 3

#: What a view holds for the fields its spec leaves out (a views.update replaces the whole view).
_VIEW_DEFAULTS: dict[str, Any] = {
    "title": None,
    "close": None,
    "submit": None,
    "private_metadata": "",
    "callback_id": "",
    "external_id": "",
}


class ViewMethods(Interactivity):
    """``views.*``, the modal stacks of each user and their App Home tabs."""

    # -------------------------------------------------------------- what a person sees

    def open_views(self, user: str | None = None) -> list[dict[str, Any]]:
        """Open modal views (bottom of each stack first), for one user or everyone."""
        with self._lock:
            out: list[dict[str, Any]] = []
            for stack_user, stack in self._stacks.items():
                if user is None or stack_user == user:
                    out.extend(copy.deepcopy(self._views[vid].view) for vid in stack)
            return out

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._lock:
            rec = self._views.get(view_id)
            return copy.deepcopy(rec.view) if rec else None

    def view_user(self, view_id: str) -> str | None:
        with self._lock:
            rec = self._views.get(view_id)
            return rec.user if rec else None

    def view_errors(self, view_id: str) -> dict[str, str] | None:
        """Errors shown on an open view after a submission was acked with ``response_action=errors``."""
        with self._lock:
            rec = self._views.get(view_id)
            return dict(rec.errors) if rec and rec.errors else None

    def home_view(self, user: str) -> dict[str, Any] | None:
        with self._lock:
            v = self._home_views.get(user)
            return copy.deepcopy(v) if v else None

    # -------------------------------------------------------------- closing views

    def close_view(self, view_id: str) -> bool:
        """Close a view and any view pushed on top of it (what Slack does when a submission is acked
        without a ``response_action``).  Returns whether the view was open."""
        with self._lock:
            for stack in self._stacks.values():
                if view_id in stack:
                    idx = stack.index(view_id)
                    for vid in stack[idx:]:
                        self._views.pop(vid, None)
                    del stack[idx:]
                    return True
            return False

    def clear_views(self, view_id: str) -> bool:
        """Close the whole stack that ``view_id`` is in (``response_action=clear``)."""
        with self._lock:
            for stack in self._stacks.values():
                if view_id in stack:
                    return self.close_view(stack[0])
            return False

    def apply_view_ack(self, view_id: str, ack_body: str | bytes | Mapping[str, Any] | None) -> str:
        """Do what Slack does with the body of a view_submission ack (e.g. ``BoltResponse.body``).

        Returns ``"closed"``, ``"errors"``, ``"updated"``, ``"pushed"`` or ``"cleared"``.
        """
        if isinstance(ack_body, bytes):
            ack_body = ack_body.decode()
        body: dict[str, Any] = {}
        if isinstance(ack_body, str) and ack_body.strip():
            body = json.loads(ack_body)
        elif isinstance(ack_body, Mapping):
            body = dict(ack_body)
        action = body.get("response_action")
        problems = block_kit_rules.view_ack_problems(body)
        too_large = action in ("update", "push") and block_kit_rules.view_size_problem(body.get("view"))
        if problems or too_large:
            reasons = "; ".join(problems) or "view_too_large"
            raise SlackRefused(
                f"Slack refused the bot's answer to the form ({reasons}); the person sees "
                '"We had some trouble connecting" in the form'
            )
        with self._lock:
            rec = self._views.get(view_id)
            if rec is None:
                raise KeyError(f"no open view {view_id}")
            if action == "errors":
                rec.errors = dict(body.get("errors") or {})
                return "errors"
            if action == "update":
                rec.errors = None
                self._replace_view(rec, body.get("view") or {})
                return "updated"
            if action == "push":
                rec.errors = None
                stack = self._stacks.setdefault(rec.user, [])
                new = self._new_view(body.get("view") or {}, rec.user, previous=stack[-1], root=stack[0])
                stack.append(new["id"])
                return "pushed"
            if action == "clear":
                self.clear_views(view_id)
                return "cleared"
            self.close_view(view_id)
            return "closed"

    # -------------------------------------------------------------- Web API methods

    def _new_view_id(self) -> str:
        return f"V{next(self._view_seq):04d}{secrets.token_hex(3).upper()}"

    @staticmethod
    def _new_hash() -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    def _new_view(
        self,
        spec: Mapping[str, Any],
        user: str | None,
        *,
        previous: str | None = None,
        root: str | None = None,
    ) -> dict[str, Any]:
        vid = self._new_view_id()
        view: dict[str, Any] = {
            "id": vid,
            "team_id": self.team_id,
            "type": spec.get("type", "modal"),
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": self._new_hash(),
            "title": None,
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": previous,
            "root_view_id": root or vid,
            "app_id": APP_ID,
            "external_id": "",
            "app_installed_team_id": self.team_id,
            "bot_id": BOT_ID,
        }
        self._apply_view_spec(view, spec)
        self._views[vid] = ViewRecord(view=view, user=user)
        return view

    @staticmethod
    def _apply_view_spec(view: dict[str, Any], spec: Mapping[str, Any]) -> None:
        for key in ("type", "title", "close", "submit", "private_metadata", "callback_id", "external_id"):
            if key in spec:
                view[key] = copy.deepcopy(spec[key])
            elif key in _VIEW_DEFAULTS:  # an update replaces the whole view: what it leaves out is gone
                view[key] = _VIEW_DEFAULTS[key]
        for key in ("clear_on_close", "notify_on_close", "submit_disabled"):
            if key in spec:
                view[key] = truthy(spec[key])
        view["blocks"] = ensure_block_ids(copy.deepcopy(spec.get("blocks") or []))
        # Slack keeps input state for blocks that survive an update.
        ids = {b.get("block_id") for b in view["blocks"] if isinstance(b, dict)}
        view["state"] = {"values": {k: v for k, v in view["state"]["values"].items() if k in ids}}

    def _replace_view(self, rec: ViewRecord, spec: Mapping[str, Any]) -> None:
        self._apply_view_spec(rec.view, spec)
        rec.view["hash"] = self._new_hash()

    @staticmethod
    def _view_spec(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The ``view`` param and, when Slack would not accept it, the error answer."""
        spec = params.get("view")
        if not isinstance(spec, dict):
            return {}, block_kit_rules.refusal(
                "invalid_arguments", ["expected an object [json-pointer:/view]"]
            )
        if block_kit_rules.view_size_problem(spec):
            return spec, {"ok": False, "error": "view_too_large"}
        problems = block_kit_rules.view_problems({"blocks": [], **spec})
        if problems:
            return spec, block_kit_rules.refusal("invalid_arguments", problems)
        return spec, None

    def _external_id_taken(self, external_id: Any, except_view: str | None = None) -> bool:
        if not external_id:
            return False
        return any(
            r.view.get("external_id") == external_id and vid != except_view for vid, r in self._views.items()
        )

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger, err = self._take_trigger(params)
        if err:
            return err
        spec, err = self._view_spec(params)
        if err:
            return err
        if self._external_id_taken(spec.get("external_id")):
            return {"ok": False, "error": "duplicate_external_id"}
        self._used_triggers.add(str(trigger))
        user = self._trigger_users.get(str(trigger))
        for vid in self._stacks.get(user, []):
            self._views.pop(vid, None)
        view = self._new_view(spec, user)
        self._stacks[user] = [view["id"]]
        return {"ok": True, "view": copy.deepcopy(view)}

    def _views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger, err = self._take_trigger(params)
        if err:
            return err
        spec, err = self._view_spec(params)
        if err:
            return err
        user = self._trigger_users.get(str(trigger))
        stack = self._stacks.get(user) or []
        if not stack:
            return {"ok": False, "error": "not_found"}
        if len(stack) >= MAX_VIEW_STACK:
            return {"ok": False, "error": "push_limit_reached"}
        if self._external_id_taken(spec.get("external_id")):
            return {"ok": False, "error": "duplicate_external_id"}
        self._used_triggers.add(str(trigger))
        view = self._new_view(spec, user, previous=stack[-1], root=stack[0])
        stack.append(view["id"])
        return {"ok": True, "view": copy.deepcopy(view)}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if not view_id and not external_id:
            return {"ok": False, "error": "invalid_arguments"}
        spec, err = self._view_spec(params)
        if err:
            return err
        rec = self._views.get(view_id) if view_id else None
        if rec is None and external_id:
            rec = next((r for r in self._views.values() if r.view.get("external_id") == external_id), None)
        if rec is None:
            return {"ok": False, "error": "not_found"}
        if params.get("hash") and params["hash"] != rec.view["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        if self._external_id_taken(spec.get("external_id"), except_view=rec.view["id"]):
            return {"ok": False, "error": "duplicate_external_id"}
        rec.errors = None
        self._replace_view(rec, spec)
        return {"ok": True, "view": copy.deepcopy(rec.view)}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user = params.get("user_id")
        if not user:
            return {"ok": False, "error": "invalid_arguments"}
        spec, err = self._view_spec(params)
        if err:
            return err
        current = self._home_views.get(user)
        if current and params.get("hash") and params["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        if current is None:
            current = self._new_view(spec, user)
            self._views.pop(current["id"], None)  # home tabs are not modals
        else:
            self._apply_view_spec(current, spec)
            current["hash"] = self._new_hash()
        self._home_views[user] = current
        return {"ok": True, "view": copy.deepcopy(current)}


HANDLERS: dict[str, Callable[[ViewMethods, dict[str, Any]], dict[str, Any]]] = {
    "views.open": ViewMethods._views_open,
    "views.push": ViewMethods._views_push,
    "views.update": ViewMethods._views_update,
    "views.publish": ViewMethods._views_publish,
}
