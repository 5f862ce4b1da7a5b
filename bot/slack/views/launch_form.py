"""The launch form: building the modal from values, and reading values back from Slack's view state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.domain.catalog import Catalog, describe_hardware
from bot.domain.command import CreateCommand
from bot.domain.cost.estimate import CostEstimate, format_dollars, replica_count
from bot.domain.directory import MAX_CHOICES, ModelChoice
from bot.domain.draft import MAX_DISPLAY_NAME, MAX_REPLICAS, MAX_TIMEOUT_MINUTES, PartialDraft
from bot.domain.errors import PolicyLimit
from bot.domain.model import LaunchDraft
from bot.domain.policy.tiers import LaunchPolicy
from bot.domain.provider import HardwareOption
from bot.slack.ids import Action, Block, Callback, Option
from bot.slack.text import escape, truncate


@dataclass
class FormValues(PartialDraft):
    """What the form holds now (the domain's partial draft), and what is wrong with each block."""

    problems: dict[str, str] = field(default_factory=dict)  # block id -> what is wrong with it

    @classmethod
    def from_command(cls, command: CreateCommand, default_timeout: int) -> FormValues:
        """The form as `/endpoint create ...` prefills it (auto-stop: `default_timeout` when not typed)."""
        return cls.prefilled(command, default_timeout)

    def to_draft(self) -> LaunchDraft:
        """A complete draft, or a UserError naming the first missing field."""
        return self.complete()


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": truncate(text, 75)}, "value": value}


def model_option(choice: ModelChoice) -> dict[str, Any]:
    """One choice of the model menu: `alias · org/Model`, or the id alone; the value is the id."""
    text = f"{choice.alias} · {choice.model}" if choice.alias else choice.model
    if choice.as_typed:
        text += " (as typed)"
    return _option(text, choice.model)


def model_options(choices: list[ModelChoice]) -> list[dict[str, Any]]:
    """The answer to the model menu's type-ahead (at most 100 options, as Slack shows)."""
    return [model_option(c) for c in choices[:MAX_CHOICES]]


def _chosen_model(catalog: Catalog, model: str) -> ModelChoice:
    return ModelChoice(model, catalog.alias_for(model))


def hardware_label(option: HardwareOption) -> str:
    label = f"{describe_hardware(option.id)} · {format_dollars(option.dollars_per_hour)}/h per replica"
    if option.availability and option.availability != "available":
        label += f" ({option.availability})"
    return label


def _number_input(
    block_id: str,
    label: str,
    value: int | None,
    low: int,
    high: int,
    hint: str | None = None,
    optional: bool = False,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "number_input",
        "action_id": block_id,
        "is_decimal_allowed": False,
        "min_value": str(low),
        "max_value": str(high),
    }
    if value is not None:
        element["initial_value"] = str(value)
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
        "optional": optional,
        "dispatch_action": True,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def launch_form(
    values: FormValues,
    *,
    catalog: Catalog,
    hardware: list[HardwareOption] | None,
    metadata: str,
    hardware_problem: str | None = None,
    policy: LaunchPolicy | None = None,
    checking: bool = False,
    problem: str | None = None,
) -> dict[str, Any]:
    """The launch modal, prefilled from `values`; `hardware` is what fits the chosen model (None: no model yet,
    or, with `checking`, Together is being asked). With a `policy`, the estimate also says which cost tier
    applies, or which limit is exceeded. `problem` is shown on top (what stopped the last submission)."""
    # Type-ahead over every model (the options come from the bot's memory, see on_model_options): a static
    # menu holds 100 options, and a catalogue can have more.
    model_element: dict[str, Any] = {
        "type": "external_select",
        "action_id": Action.MODEL,
        "placeholder": {"type": "plain_text", "text": "Type to search: an alias or a model id"},
        "min_query_length": 0,
    }
    if values.model:
        model_element["initial_option"] = model_option(_chosen_model(catalog, values.model))
    blocks: list[dict[str, Any]] = []
    if problem:
        blocks.append(
            {
                "type": "section",
                "block_id": Block.PROBLEM,
                "text": {"type": "mrkdwn", "text": truncate(":warning: " + escape(problem), 3000)},
            }
        )
    blocks.append(
        {
            "type": "input",
            "block_id": Block.MODEL,
            "label": {"type": "plain_text", "text": "Model"},
            "element": model_element,
            "dispatch_action": True,
            "hint": {"type": "plain_text", "text": "Any model Together runs on dedicated endpoints."},
        }
    )
    chosen: HardwareOption | None = None
    if hardware:
        hw_options = [_option(hardware_label(h), h.id) for h in hardware][:100]
        hw_element: dict[str, Any] = {
            "type": "static_select",
            "action_id": Action.HARDWARE,
            "placeholder": {"type": "plain_text", "text": "Choose hardware"},
            "options": hw_options,
        }
        chosen = next((h for h in hardware if h.id == values.hardware), None)
        if chosen is not None:
            hw_element["initial_option"] = next(o for o in hw_options if o["value"] == chosen.id)
        blocks.append(
            {
                "type": "input",
                "block_id": Block.HARDWARE,
                "label": {"type": "plain_text", "text": "Hardware (price per replica)"},
                "element": hw_element,
                "dispatch_action": True,
                "hint": {
                    "type": "plain_text",
                    "text": "Only hardware that can run the chosen model is listed.",
                },
            }
        )
    else:
        if hardware_problem:
            text = hardware_problem
        elif checking and values.model:
            text = (
                f":hourglass_flowing_sand: Asking Together which hardware can run {values.model}, and its "
                "prices. The choices appear here in a moment."
            )
        else:
            text = "Choose a model first: the hardware that fits it appears here, with prices."
        blocks.append(
            {
                "type": "section",
                "block_id": Block.ASKING if checking and not hardware_problem else Block.HARDWARE_HINT,
                "text": {"type": "mrkdwn", "text": escape(text), "verbatim": True},
            }
        )
    blocks += [
        _number_input(
            Block.MIN_REPLICAS,
            "Minimum replicas (always running, always billed)",
            values.min_replicas,
            1,
            MAX_REPLICAS,
        ),
        _number_input(
            Block.MAX_REPLICAS,
            "Maximum replicas (the cost ceiling)",
            values.max_replicas,
            1,
            MAX_REPLICAS,
            hint=_limits_hint(policy),
        ),
        {
            "type": "input",
            "block_id": Block.DISPLAY_NAME,
            "optional": True,
            "label": {"type": "plain_text", "text": "Display name"},
            "element": {
                "type": "plain_text_input",
                "action_id": Action.DISPLAY_NAME,
                "max_length": MAX_DISPLAY_NAME,
                "placeholder": {"type": "plain_text", "text": "Default: <model alias>-r<request number>"},
                **({"initial_value": values.display_name[:MAX_DISPLAY_NAME]} if values.display_name else {}),
            },
        },
        _number_input(
            Block.INACTIVE_TIMEOUT,
            "Auto-stop after idle minutes",
            values.inactive_timeout,
            0,
            MAX_TIMEOUT_MINUTES,
            hint="Together stops the endpoint after this long without requests. 0 never stops it.",
            optional=True,
        ),
        _checkboxes(values),
        _start_choice(values),
    ]
    blocks.append(
        {
            "type": "section",
            "block_id": Block.ESTIMATE,
            "text": {"type": "mrkdwn", "text": estimate_text(values, chosen, policy)},
        }
    )
    return {
        "type": "modal",
        "callback_id": Callback.LAUNCH_FORM,
        "title": {"type": "plain_text", "text": "Launch an endpoint"},
        "submit": {"type": "plain_text", "text": "Request launch"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": metadata,
        "blocks": blocks,
    }


def checking_view(values: FormValues, metadata: str, channel_id: str) -> dict[str, Any]:
    """What a submitted launch form shows while Together is asked about it (the answer replaces it)."""
    model = escape(values.model or "the model")
    text = (
        f":hourglass_flowing_sand: Checking your request with Together: the hardware and price of {model}. "
        f"The answer appears here in a moment; if you close this, it comes as a message in <#{channel_id}>."
    )
    return {
        "type": "modal",
        "callback_id": Callback.LAUNCH_FORM,
        "title": {"type": "plain_text", "text": "Launch an endpoint"},
        "close": {"type": "plain_text", "text": "Close"},
        "private_metadata": metadata,
        "blocks": [{"type": "section", "block_id": Block.CHECKING, "text": {"type": "mrkdwn", "text": text}}],
    }


def submitted_view(request_id: int, channel_id: str) -> dict[str, Any]:
    """A launch form checked after its acknowledgement, once the request is recorded."""
    text = (
        f":white_check_mark: Launch request #{request_id} is recorded. Its card is in <#{channel_id}>, "
        "where approvers decide; you'll see the answer there."
    )
    return {
        "type": "modal",
        "callback_id": Callback.LAUNCH_FORM,
        "title": {"type": "plain_text", "text": "Launch requested"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [
            {"type": "section", "block_id": Block.SUBMITTED, "text": {"type": "mrkdwn", "text": text}}
        ],
    }


def _checkboxes(values: FormValues) -> dict[str, Any]:
    options = [
        _option(
            "Speculative decoding (faster; turn off if Together rejects the configuration)",
            Option.SPECULATIVE,
        ),
        _option("Prompt cache", Option.PROMPT_CACHE),
    ]
    initial = [
        o for o, on in zip(options, (values.speculative_decoding, values.prompt_cache), strict=True) if on
    ]
    element: dict[str, Any] = {"type": "checkboxes", "action_id": Action.OPTIONS, "options": options}
    if initial:
        element["initial_options"] = initial
    return {
        "type": "input",
        "block_id": Block.OPTIONS,
        "optional": True,
        "label": {"type": "plain_text", "text": "Options"},
        "element": element,
    }


def _start_choice(values: FormValues) -> dict[str, Any]:
    options = [
        _option("Start as soon as it is approved", Option.START_NOW),
        _option("Create it stopped (start it later; nothing is billed until then)", Option.START_STOPPED),
    ]
    return {
        "type": "input",
        "block_id": Block.START,
        "label": {"type": "plain_text", "text": "When approved"},
        "element": {
            "type": "radio_buttons",
            "action_id": Action.START,
            "options": options,
            "initial_option": options[0] if values.start_now else options[1],
        },
    }


def _limits_hint(policy: LaunchPolicy | None) -> str | None:
    if policy is None:
        return None
    limits = policy.limits
    parts = []
    if limits.max_replicas is not None:
        parts.append(f"at most {limits.max_replicas} replicas")
    cap = policy.cost_cap()
    if cap is not None:
        parts.append(f"at most {format_dollars(cap[0])}/h at max replicas")
    return ("The policy allows " + " and ".join(parts) + ".") if parts else None


def estimate_text(
    values: FormValues, chosen: HardwareOption | None, policy: LaunchPolicy | None = None
) -> str:
    warning = _policy_warning(values, chosen, policy)
    if chosen is None or values.min_replicas is None or values.max_replicas is None:
        return "*Estimated cost:* choose the model, hardware and replicas to see it." + warning
    if values.min_replicas > values.max_replicas:
        return "*Estimated cost:* the minimum is larger than the maximum." + warning
    estimate = CostEstimate(chosen.cents_per_minute, values.min_replicas, values.max_replicas)
    at = f"{format_dollars(estimate.at_min)}/h at {replica_count(values.min_replicas, values.min_replicas)}"
    if values.max_replicas != values.min_replicas:
        at += f", {format_dollars(estimate.at_max)}/h at {values.max_replicas}"
    text = f"*Estimated cost:* {at}. Billed per minute while running, even when idle."
    if warning or policy is None or not policy.tiered:
        return text + warning
    tier = policy.tier_for(estimate.at_max)
    return text + (f"\n*Approval:* {tier.describe()}." if tier is not None else "")


def _policy_warning(values: FormValues, chosen: HardwareOption | None, policy: LaunchPolicy | None) -> str:
    """What in the form is over a limit of the policy, said before it is submitted."""
    if policy is None:
        return ""
    try:
        policy.check(
            model=values.model,
            hardware=chosen.id if chosen else None,
            max_replicas=values.max_replicas,
            cents_per_minute=chosen.cents_per_minute if chosen else None,
        )
    except PolicyLimit as exc:
        return f"\n:warning: {exc.message}"
    return ""


# --- reading Slack's view state -------------------------------------------------------------


def element_state(state: dict[str, Any], block_id: str) -> dict[str, Any]:
    """The state of the one element in input block `block_id` (empty when absent)."""
    block = state.get(block_id) or {}
    return next(iter(block.values()), {}) if block else {}


def _int(element: dict[str, Any], block_id: str, problems: dict[str, str]) -> int | None:
    raw = element.get("value")
    if raw is None or str(raw).strip() == "":
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        problems[block_id] = "Give a whole number."
        return None


def read_form(state_values: dict[str, Any]) -> FormValues:
    """Slack's `view.state.values` -> FormValues; unreadable fields are noted in `problems`."""
    problems: dict[str, str] = {}
    model = (element_state(state_values, Block.MODEL).get("selected_option") or {}).get("value")
    hardware = (element_state(state_values, Block.HARDWARE).get("selected_option") or {}).get("value")
    name = (element_state(state_values, Block.DISPLAY_NAME).get("value") or "").strip() or None
    options = {
        o.get("value") for o in element_state(state_values, Block.OPTIONS).get("selected_options") or []
    }
    start = (element_state(state_values, Block.START).get("selected_option") or {}).get("value")
    return FormValues(
        model=model,
        hardware=hardware,
        min_replicas=_int(element_state(state_values, Block.MIN_REPLICAS), Block.MIN_REPLICAS, problems),
        max_replicas=_int(element_state(state_values, Block.MAX_REPLICAS), Block.MAX_REPLICAS, problems),
        display_name=name,
        inactive_timeout=_int(
            element_state(state_values, Block.INACTIVE_TIMEOUT), Block.INACTIVE_TIMEOUT, problems
        ),
        speculative_decoding=Option.SPECULATIVE in options,
        prompt_cache=Option.PROMPT_CACHE in options,
        start_now=start != Option.START_STOPPED,
        problems=problems,
    )
