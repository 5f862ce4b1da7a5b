"""The state of a form's elements as Slack reports it: ``view.state.values``, and a click's action.

Each element starts from its initial value (``initial_value``, ``initial_option``, ``initial_user``...);
what the person typed or chose replaces it.  Used to build ``view_submission`` and ``block_actions``
payloads (:mod:`bot.sandbox.slack_requests`) and by the driver, which fills forms as a person does.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from bot.sandbox.slack_types import ensure_block_ids

__all__ = ["element_state", "find_element", "state_values"]


def _block_elements(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    btype = block.get("type")
    if btype == "input" and isinstance(block.get("element"), dict):
        return [block["element"]]
    if btype == "actions":
        return [e for e in block.get("elements") or [] if isinstance(e, dict)]
    if btype == "section" and isinstance(block.get("accessory"), dict):
        return [block["accessory"]]
    return []


def find_element(
    blocks: list[dict[str, Any]], action_id: str, block_id: str | None = None
) -> tuple[str | None, dict[str, Any] | None]:
    """Find the element with ``action_id`` (in block ``block_id`` if given): ``(block_id, element)``."""
    for block in blocks:
        if not isinstance(block, dict) or (block_id is not None and block.get("block_id") != block_id):
            continue
        for element in _block_elements(block):
            if element.get("action_id") == action_id:
                return block.get("block_id"), element
    return None, None


def _all_options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return [o for o in options if isinstance(o, dict)]


def _option(element: Mapping[str, Any], choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, Mapping):
        return copy.deepcopy(dict(choice))
    for option in _all_options(element):
        if option.get("value") == choice:
            return copy.deepcopy(option)
    if element.get("type", "").endswith("external_select") or not _all_options(element):
        return {"text": {"type": "plain_text", "text": str(choice), "emoji": True}, "value": str(choice)}
    raise ValueError(f"{element.get('type')} {element.get('action_id')!r} has no option {choice!r}")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


# element type -> (state key, initial key) for selects holding a single id / date / time
_SINGLE = {
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
}
_MULTI = {
    "multi_users_select": ("selected_users", "initial_users"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
}
_TEXT = {"plain_text_input", "number_input", "email_text_input", "url_text_input"}


def element_state(
    element: Mapping[str, Any], value: Any, *, explicit: bool, for_action: bool = False
) -> dict[str, Any]:
    """Slack's state for one element: from ``value`` when ``explicit``, else from its initial value."""
    etype = element.get("type", "")
    state: dict[str, Any] = {"type": etype}
    if etype in _TEXT:
        raw = value if explicit else element.get("initial_value")
        state["value"] = None if raw is None or raw == "" else str(raw)  # Slack sends null when empty
    elif etype == "rich_text_input":
        state["rich_text_value"] = copy.deepcopy(value if explicit else element.get("initial_value"))
    elif etype in ("static_select", "external_select", "radio_buttons", "overflow"):
        state["selected_option"] = (
            _option(element, value) if explicit else copy.deepcopy(element.get("initial_option"))
        )
    elif etype in ("checkboxes", "multi_static_select", "multi_external_select"):
        if explicit:
            state["selected_options"] = [_option(element, v) for v in _as_list(value)]
        else:
            state["selected_options"] = copy.deepcopy(list(element.get("initial_options") or []))
    elif etype in _SINGLE:
        key, initial = _SINGLE[etype]
        state[key] = value if explicit else element.get(initial)
        if etype == "datetimepicker" and state[key] is not None:
            state[key] = int(state[key])
    elif etype in _MULTI:
        key, initial = _MULTI[etype]
        state[key] = _as_list(value) if explicit else list(element.get(initial) or [])
    elif etype == "file_input":
        state["files"] = _as_list(value) if explicit else []
    elif value is not None:
        state["value"] = value
    if for_action:
        state.pop("type")
    return state


def _is_stateful(element: Mapping[str, Any]) -> bool:
    return element.get("type") not in (None, "button", "overflow", "workflow_button", "image")


def state_values(view: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build ``view.state.values`` (``block_id -> action_id -> element state``) as Slack sends it.

    Each input (and each stateful element in actions/section blocks) starts from its initial value:
    ``initial_value``, ``initial_option``, ``initial_options``, ``initial_user`` and so on.
    ``overrides`` maps a ``block_id`` to a plain value: a string for text and number inputs, an
    option value for selects and radio buttons, a list of option values for checkboxes and
    multi-selects, a user/conversation id for those selects.  For a block with several stateful
    elements, give a dict keyed by ``action_id`` instead.  Unknown block_ids raise ``KeyError``.
    """
    overrides = dict(overrides or {})
    values: dict[str, Any] = {}
    for block in ensure_block_ids(list(view.get("blocks") or [])):
        if not isinstance(block, dict):
            continue
        elements = [e for e in _block_elements(block) if _is_stateful(e)]
        if not elements:
            continue
        block_id = block["block_id"]
        has_override = block_id in overrides
        override = overrides.pop(block_id, None)
        block_state: dict[str, Any] = {}
        for element in elements:
            action_id = element["action_id"]
            if has_override and len(elements) > 1:
                if not isinstance(override, Mapping):
                    raise ValueError(f"block {block_id!r} has several elements: override by action_id")
                explicit = action_id in override
                value = override.get(action_id)
            else:
                explicit, value = has_override, override
            block_state[action_id] = element_state(element, value, explicit=explicit)
        values[block_id] = block_state
    if overrides:
        raise KeyError(f"no input block(s) {sorted(overrides)} in the view")
    return values
