"""What Slack refuses in the Block Kit an app sends: the fake Slack's rule book.

Two checks, both needed because neither is complete alone:

* slack_sdk's Block Kit models (``Block.parse``, ``BlockElement.parse``, ``View``) with their
  ``validate_json``: an unknown block or element type, a missing required field, and the limits the SDK
  knows.  The SDK does not recurse into elements, so each element is parsed and validated too.
* :data:`LIMITS`, Slack's documented limits, each with its source, checked by walking the JSON so that
  each reason carries a json-pointer, as Slack's own answers do::

      {"ok": false, "error": "invalid_blocks",
       "errors": ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"],
       "response_metadata": {"messages": ["[ERROR] must be less than 3001 characters [json-pointer:..."]}}

:func:`message_problems` checks a message (``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``,
a response_url body), :func:`view_problems` a view (``views.*`` and the view in a ``response_action``
ack), :func:`view_ack_problems` the whole body of a ``view_submission`` ack.  Each returns the reasons
(empty when Slack would accept); :func:`refusal` turns them into Slack's answer.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, BlockElement
from slack_sdk.models.views import View

__all__ = [
    "LIMITS",
    "REFUSALS",
    "message_problems",
    "refusal",
    "view_ack_problems",
    "view_problems",
    "view_size_problem",
]

_BLOCKS = "https://docs.slack.dev/reference/block-kit/blocks"
_ELEMENTS = "https://docs.slack.dev/reference/block-kit/block-elements"
_OBJECTS = "https://docs.slack.dev/reference/block-kit/composition-objects"

#: Slack's documented limits (characters or items), with where Slack says so.
LIMITS: dict[str, int] = {
    # https://docs.slack.dev/reference/methods/chat.postMessage ("blocks": up to 50 blocks per message)
    "message_blocks": 50,
    # https://docs.slack.dev/reference/methods/chat.postMessage ("text": truncated/refused past 40,000)
    "message_text": 40_000,
    # https://docs.slack.dev/reference/views ("blocks": max of 100 blocks in a modal or Home tab)
    "view_blocks": 100,
    # {_BLOCKS}/section-block ("text": max 3000 characters)
    "section_text": 3_000,
    # {_BLOCKS}/section-block ("fields": max 10 items, each max 2000 characters)
    "section_fields": 10,
    "section_field_text": 2_000,
    # {_BLOCKS}/header-block ("text": max 150 characters)
    "header_text": 150,
    # {_BLOCKS}/context-block ("elements": max 10 items)
    "context_elements": 10,
    # {_BLOCKS}/actions-block ("elements": max 25 items)
    "actions_elements": 25,
    # {_ELEMENTS}/button-element ("text": max 75 characters; "value": max 2000; "url": max 3000)
    "button_text": 75,
    "button_value": 2_000,
    # {_ELEMENTS}/button-element ("action_id": max 255, "unique among all other action_ids in the containing
    # block") and {_BLOCKS} ("block_id": max 255, "unique for each message and each iteration of a message")
    "action_id": 255,
    "block_id": 255,
    # {_ELEMENTS}/select-menu-element ("options": max 100)
    "select_options": 100,
    # {_OBJECTS}/option-object ("text": max 75 characters; "value": max 150)
    "option_text": 75,
    "option_value": 150,
    # https://docs.slack.dev/reference/views/modal-views ("title", "submit", "close": max 24 characters)
    "modal_title": 24,
    "modal_button": 24,
    # https://docs.slack.dev/reference/views ("private_metadata": max 3000; "callback_id": max 255)
    "private_metadata": 3_000,
    "callback_id": 255,
    # {_BLOCKS}/input-block ("label": max 2000; "hint": max 2000)
    "input_label": 2_000,
    "input_hint": 2_000,
    # {_ELEMENTS}/plain-text-input-element ("max_length": max 3000; initial_value within min/max_length)
    "plain_text_input_max_length": 3_000,
    # {_ELEMENTS}/plain-text-input-element ("placeholder": max 150), same for selects
    "placeholder": 150,
    # https://docs.slack.dev/reference/methods/views.open (a view is refused past 250 kB: view_too_large)
    "view_bytes": 250_000,
}

#: The errors with which Slack refuses what an app sent (as opposed to an outage or a rate limit).
REFUSALS = frozenset(
    {"invalid_blocks", "invalid_arguments", "msg_too_long", "view_too_large", "expired_trigger_id", "invalid_trigger_id",
     "exchanged_trigger_id"}
)  # fmt: skip

# The types Slack allows in each surface ({_BLOCKS}: "Available in surfaces").
_MESSAGE_BLOCKS = frozenset(
    {"actions", "context", "divider", "file", "header", "image", "rich_text", "section", "video", "markdown",
     "input", "table", "context_actions"}
)  # fmt: skip
_VIEW_BLOCKS = frozenset(
    {"actions", "context", "divider", "header", "image", "input", "rich_text", "section", "video"}
)


def refusal(error: str, problems: list[str]) -> dict[str, Any]:
    """Slack's answer to a refused call: the error and the reasons, in ``errors`` and ``response_metadata``."""
    return {
        "ok": False,
        "error": error,
        "errors": list(problems),
        "response_metadata": {"messages": [f"[ERROR] {p}" for p in problems]},
    }


def message_problems(params: Mapping[str, Any]) -> list[str]:
    """Why Slack would refuse a message with these params (``text``, ``blocks``), or ``[]``."""
    problems: list[str] = []
    text = params.get("text")
    if isinstance(text, str) and len(text) > LIMITS["message_text"]:
        problems.append(_too_long(LIMITS["message_text"], "/text"))
    blocks = params.get("blocks")
    if blocks is None or blocks == "":
        return problems
    if not isinstance(blocks, list):
        return [*problems, "expected an array of blocks [json-pointer:/blocks]"]
    if len(blocks) > LIMITS["message_blocks"]:
        problems.append(f"no more than {LIMITS['message_blocks']} items allowed [json-pointer:/blocks]")
    problems += _blocks_problems(blocks, "/blocks", _MESSAGE_BLOCKS)
    return problems


def view_problems(view: Any, pointer: str = "/view") -> list[str]:
    """Why Slack would refuse this view (a modal or a Home tab), or ``[]``."""
    if not isinstance(view, Mapping):
        return [f"expected an object [json-pointer:{pointer}]"]
    problems: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [f"must be one of modal, home [json-pointer:{pointer}/type]"]
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return [f"expected an array of blocks [json-pointer:{pointer}/blocks]"]
    if len(blocks) > LIMITS["view_blocks"]:
        problems.append(f"no more than {LIMITS['view_blocks']} items allowed [json-pointer:{pointer}/blocks]")
    problems += _blocks_problems(blocks, f"{pointer}/blocks", _VIEW_BLOCKS)
    if kind == "modal":
        if not _text_of(view.get("title")):
            problems.append(f"must provide a title [json-pointer:{pointer}/title]")
        problems += _text_problems(view.get("title"), LIMITS["modal_title"], f"{pointer}/title")
        for key in ("submit", "close"):
            problems += _text_problems(view.get(key), LIMITS["modal_button"], f"{pointer}/{key}")
        if view.get("submit") is None and any(
            isinstance(b, Mapping) and b.get("type") == "input" for b in blocks
        ):
            problems.append(f"must provide a submit button with input blocks [json-pointer:{pointer}/submit]")
    for key, limit in (("private_metadata", "private_metadata"), ("callback_id", "callback_id")):
        value = view.get(key)
        if isinstance(value, str) and len(value) > LIMITS[limit]:
            problems.append(_too_long(LIMITS[limit], f"{pointer}/{key}"))
    if not problems:
        problems += _sdk_problems(lambda: _sdk_view(view), pointer)
    return problems


def view_size_problem(view: Any) -> str | None:
    """``view_too_large`` when the view's JSON is over Slack's 250 kB."""
    size = len(json.dumps(view, separators=(",", ":")).encode())
    return "view_too_large" if size > LIMITS["view_bytes"] else None


def view_ack_problems(body: Mapping[str, Any]) -> list[str]:
    """Why Slack would not accept this ``view_submission`` ack body (``response_action`` and its parts)."""
    action = body.get("response_action")
    if action is None:
        return []
    if action == "errors":
        errors = body.get("errors")
        if not isinstance(errors, Mapping) or not errors:
            return ["errors must be a non-empty object of block_id: message [json-pointer:/errors]"]
        return [
            f"must be a non-empty string of at most {LIMITS['section_text']} characters "
            f"[json-pointer:/errors/{key}]"
            for key, message in errors.items()
            if not isinstance(message, str) or not message or len(message) > LIMITS["section_text"]
        ]
    if action in ("update", "push"):
        return view_problems(body.get("view"), "/view")
    if action == "clear":
        return []
    return [f"must be one of errors, update, push, clear [json-pointer:/response_action] (got {action!r})"]


# --------------------------------------------------------------------------------------------------


def _too_long(limit: int, pointer: str) -> str:
    return f"must be less than {limit + 1} characters [json-pointer:{pointer}]"


def _text_of(obj: Any) -> str | None:
    if isinstance(obj, Mapping):
        text = obj.get("text")
        return text if isinstance(text, str) else None
    return obj if isinstance(obj, str) else None


def _text_problems(obj: Any, limit: int, pointer: str, *, required: bool = False) -> list[str]:
    if obj is None:
        return [f"must provide a text object [json-pointer:{pointer}]"] if required else []
    text = _text_of(obj)
    if text is None:
        return [f"expected a text object [json-pointer:{pointer}]"]
    if not text:
        return [f"must be more than 0 characters [json-pointer:{pointer}/text]"]
    if len(text) > limit:
        return [_too_long(limit, f"{pointer}/text")]
    return []


def _blocks_problems(blocks: list[Any], pointer: str, allowed: frozenset[str]) -> list[str]:
    problems: list[str] = []
    block_ids: dict[str, int] = {}
    for index, block in enumerate(blocks):
        here = f"{pointer}/{index}"
        if not isinstance(block, Mapping):
            problems.append(f"expected an object [json-pointer:{here}]")
            continue
        kind = block.get("type")
        if kind not in allowed:
            problems.append(f"unsupported type: {kind!r} [json-pointer:{here}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > LIMITS["block_id"]:
                problems.append(_too_long(LIMITS["block_id"], f"{here}/block_id"))
            elif block_id in block_ids:
                problems.append(f"duplicate block_id {block_id!r} [json-pointer:{here}/block_id]")
            block_ids[str(block_id)] = index
        problems += _block_problems(block, here)
        action_ids: dict[str, int] = {}  # unique within the containing block (see LIMITS["action_id"])
        for el_pointer, element in _elements(block, here):
            action_id = element.get("action_id")
            if action_id is None:
                continue
            if not isinstance(action_id, str) or len(action_id) > LIMITS["action_id"]:
                problems.append(_too_long(LIMITS["action_id"], f"{el_pointer}/action_id"))
            elif action_id in action_ids:
                problems.append(f"duplicate action_id {action_id!r} [json-pointer:{el_pointer}/action_id]")
            action_ids[str(action_id)] = 1
        if not problems:
            problems += _sdk_problems(lambda b=block: Block.parse(dict(b)), here)
    return problems


def _elements(block: Mapping[str, Any], here: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The interactive elements of a block, with their json-pointers."""
    kind = block.get("type")
    if kind == "actions":
        for i, element in enumerate(block.get("elements") or []):
            if isinstance(element, Mapping):
                yield f"{here}/elements/{i}", element
    elif kind == "section" and isinstance(block.get("accessory"), Mapping):
        yield f"{here}/accessory", block["accessory"]
    elif kind == "input" and isinstance(block.get("element"), Mapping):
        yield f"{here}/element", block["element"]


def _block_problems(block: Mapping[str, Any], here: str) -> list[str]:
    kind = block.get("type")
    problems: list[str] = []
    if kind == "section":
        if block.get("text") is None and not block.get("fields"):
            problems.append(f"must provide text or fields [json-pointer:{here}]")
        problems += _text_problems(block.get("text"), LIMITS["section_text"], f"{here}/text")
        fields = block.get("fields") or []
        if len(fields) > LIMITS["section_fields"]:
            problems.append(
                f"no more than {LIMITS['section_fields']} items allowed [json-pointer:{here}/fields]"
            )
        for i, item in enumerate(fields):
            problems += _text_problems(item, LIMITS["section_field_text"], f"{here}/fields/{i}")
    elif kind == "header":
        problems += _text_problems(block.get("text"), LIMITS["header_text"], f"{here}/text", required=True)
    elif kind == "context":
        elements = block.get("elements") or []
        if not elements:
            problems.append(f"must provide at least 1 element [json-pointer:{here}/elements]")
        if len(elements) > LIMITS["context_elements"]:
            problems.append(
                f"no more than {LIMITS['context_elements']} items allowed [json-pointer:{here}/elements]"
            )
        for i, item in enumerate(elements):
            if isinstance(item, Mapping) and item.get("type") in ("mrkdwn", "plain_text"):
                problems += _text_problems(item, LIMITS["section_text"], f"{here}/elements/{i}")
    elif kind == "actions":
        elements = block.get("elements") or []
        if not elements:
            problems.append(f"must provide at least 1 element [json-pointer:{here}/elements]")
        if len(elements) > LIMITS["actions_elements"]:
            problems.append(
                f"no more than {LIMITS['actions_elements']} items allowed [json-pointer:{here}/elements]"
            )
    elif kind == "input":
        problems += _text_problems(block.get("label"), LIMITS["input_label"], f"{here}/label", required=True)
        problems += _text_problems(block.get("hint"), LIMITS["input_hint"], f"{here}/hint")
        if not isinstance(block.get("element"), Mapping):
            problems.append(f"must provide an element [json-pointer:{here}/element]")
    for el_pointer, element in _elements(block, here):
        problems += _element_problems(element, el_pointer)
    return problems


def _element_problems(element: Mapping[str, Any], here: str) -> list[str]:
    kind = element.get("type")
    problems = _text_problems(element.get("placeholder"), LIMITS["placeholder"], f"{here}/placeholder")
    if kind == "button":
        problems += _text_problems(element.get("text"), LIMITS["button_text"], f"{here}/text", required=True)
        value = element.get("value")
        if isinstance(value, str) and len(value) > LIMITS["button_value"]:
            problems.append(_too_long(LIMITS["button_value"], f"{here}/value"))
    elif kind in ("static_select", "multi_static_select", "overflow", "radio_buttons", "checkboxes"):
        options = element.get("options")
        groups = element.get("option_groups")
        if kind.endswith("static_select") and not options and not groups:
            problems.append(f"must provide options or option_groups [json-pointer:{here}]")
        all_options = list(options or [])
        for group in groups or []:
            if isinstance(group, Mapping):
                all_options += list(group.get("options") or [])
        if len(all_options) > LIMITS["select_options"]:
            problems.append(
                f"no more than {LIMITS['select_options']} items allowed [json-pointer:{here}/options]"
            )
        values = {}
        for i, option in enumerate(all_options):
            problems += _option_problems(option, f"{here}/options/{i}")
            if isinstance(option, Mapping):
                values[option.get("value")] = i
        initial = element.get("initial_option")
        if isinstance(initial, Mapping) and initial.get("value") not in values:
            problems.append(f"initial_option must be one of the options [json-pointer:{here}/initial_option]")
    elif kind == "plain_text_input":
        max_length = element.get("max_length")
        min_length = element.get("min_length")
        initial = element.get("initial_value")
        if isinstance(max_length, int) and not 1 <= max_length <= LIMITS["plain_text_input_max_length"]:
            problems.append(
                f"must be between 1 and {LIMITS['plain_text_input_max_length']} [json-pointer:{here}/max_length]"
            )
        if isinstance(initial, str):
            if isinstance(max_length, int) and len(initial) > max_length:
                problems.append(
                    f"initial_value is longer than max_length [json-pointer:{here}/initial_value]"
                )
            if isinstance(min_length, int) and initial and len(initial) < min_length:
                problems.append(
                    f"initial_value is shorter than min_length [json-pointer:{here}/initial_value]"
                )
    return problems


def _option_problems(option: Any, here: str) -> list[str]:
    if not isinstance(option, Mapping):
        return [f"expected an object [json-pointer:{here}]"]
    problems = _text_problems(option.get("text"), LIMITS["option_text"], f"{here}/text", required=True)
    value = option.get("value")
    if not isinstance(value, str) or not value:
        problems.append(f"must provide a value [json-pointer:{here}/value]")
    elif len(value) > LIMITS["option_value"]:
        problems.append(_too_long(LIMITS["option_value"], f"{here}/value"))
    return problems


def _sdk_view(view: Mapping[str, Any]) -> View:
    """slack_sdk's ``View`` of the fields it takes (Slack's own answers carry more, e.g. ``id``)."""
    keys = ("type", "title", "blocks", "close", "submit", "private_metadata", "callback_id", "external_id",
            "clear_on_close", "notify_on_close", "submit_disabled")  # fmt: skip
    model = View(**{k: view[k] for k in keys if k in view})
    if not model.blocks:
        model.blocks = None  # type: ignore[assignment] # an empty view is accepted: the SDK's 1+ is too strict
    return model


def _sdk_problems(build: Any, pointer: str) -> list[str]:
    """What slack_sdk's Block Kit models refuse: unknown types, missing fields, the limits it knows."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = build()
            if model is None:
                return [f"unsupported block [json-pointer:{pointer}]"]
            model.validate_json()
            for element in _sdk_elements(model):
                element.validate_json()
    except (SlackObjectFormationError, TypeError, KeyError, AttributeError) as error:
        return [f"{error} [json-pointer:{pointer}]"]
    return []


def _sdk_elements(model: Any) -> Iterator[Any]:
    blocks = getattr(model, "blocks", None)
    for block in blocks if isinstance(blocks, list) else [model]:
        for name in ("elements", "accessory", "element"):
            value = getattr(block, name, None)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, BlockElement):
                    yield item
