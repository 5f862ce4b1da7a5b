"""Property tests: whatever a person types in a command, and whatever a form's state holds when it is
submitted, the bot answers with a valid request or a clear message; never an exception, and never anything
the strict fake Slack (bot/sandbox/block_kit_rules.py) would refuse."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.catalog import Catalog
from bot.domain.command import CreateCommand, parse_command
from bot.domain.draft import DEFAULT_INACTIVE_TIMEOUT
from bot.domain.errors import UserError
from bot.domain.model import EndpointRecord, LaunchDraft, LaunchRequest, RequestStatus
from bot.domain.policy.access import Act
from bot.domain.policy.tiers import LaunchPolicy
from bot.domain.provider import HardwareOption
from bot.domain.requests import MAX_NOTE_LENGTH, _clean
from bot.domain.running import Managed
from bot.sandbox.block_kit_rules import message_problems, view_ack_problems, view_problems, view_size_problem
from bot.slack.ids import Action, Block, Option
from bot.slack.listeners.errors import short as _short
from bot.slack.metadata import EndpointActionMeta, LaunchFormMeta
from bot.slack.views import endpoints as views
from bot.slack.views.launch_form import FormValues, launch_form, read_form
from bot.slack.views.renderer import Renderer

CATALOG = Catalog()
POLICY = LaunchPolicy.from_environment(["UAPPROVER1"])
RENDERER = Renderer(CATALOG, POLICY)
META = LaunchFormMeta(channel_id="C0LAUNCH", team_id="T0SIM").dump()
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HARDWARE = [
    HardwareOption("1x_nvidia_h100_80gb_sxm", "h100-80gb", 1, 80, 5.58, "available"),
    HardwareOption("2x_nvidia_h100_80gb_sxm", "h100-80gb", 2, 80, 11.16, "insufficient"),
    HardwareOption("1x_nvidia_a100_80gb_sxm", "a100-80gb", 1, 80, 4.0, None),
]
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Words a person is likely to type, mixed with anything at all.
WORDS = [
    "create", "list", "all", "mine", "status", "stop", "start", "delete", "scale", "rename", "timeout",
    "hardware", "history", "spend", "help", "llama-8b", "h100", "2xh100", "a100", "h100:4", "2-5", "1", "0",
    "65", "5-2", "name=", 'name="my endpoint"', "name=<!channel>", "timeout=", "timeout=60", "timeout=99999",
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", '"', "'", "`", "&", "<@U1>", "7d", "24h", "x" * 120,
]  # fmt: skip
command_texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=20)), max_size=8).map(" ".join),
)
typed = st.text(max_size=300)  # any text in a text input
numberish = st.one_of(st.none(), st.integers(-(10**6), 10**6).map(str), st.text(max_size=12))


def no_problems(problems: list[str]) -> None:
    assert problems == [], problems


def check_form(values: FormValues, hardware: list[HardwareOption] | None, problem: str | None = None) -> None:
    view = launch_form(
        values, catalog=CATALOG, hardware=hardware, metadata=META, hardware_problem=problem, policy=POLICY
    )
    no_problems(view_problems(view))
    assert view_size_problem(view) is None


# --- the command grammar ---------------------------------------------------------------------------


@FAST
@given(text=command_texts, hardware_known=st.booleans())
def test_any_command_gives_a_command_or_a_clear_message(text: str, hardware_known: bool) -> None:
    try:
        parsed = parse_command(text, CATALOG)
    except UserError as exc:
        assert exc.message.strip()
        no_problems(message_problems({"text": exc.message}))  # shown as the command's answer
        return
    if isinstance(parsed, CreateCommand):  # the form it opens, prefilled from what was typed
        values = FormValues.from_command(parsed, DEFAULT_INACTIVE_TIMEOUT)
        check_form(values, HARDWARE if hardware_known and parsed.model else None)


# --- the launch form ----------------------------------------------------------------------------------


def option(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value[:75]}, "value": value}


@st.composite
def launch_states(draw: st.DrawFn) -> dict[str, Any]:
    """A launch form's `state.values` as Slack could send it: selects hold one of their options, text inputs
    hold what their max_length lets through, number inputs anything (Slack checks them in the client)."""
    model = draw(st.one_of(st.none(), st.sampled_from(sorted(CATALOG.models.values()))))
    hardware = draw(st.one_of(st.none(), st.sampled_from([h.id for h in HARDWARE])))
    state: dict[str, Any] = {
        Block.MODEL: {Action.MODEL: {"type": "static_select", "selected_option": model and option(model)}},
        Block.MIN_REPLICAS: {Block.MIN_REPLICAS: {"type": "number_input", "value": draw(numberish)}},
        Block.MAX_REPLICAS: {Block.MAX_REPLICAS: {"type": "number_input", "value": draw(numberish)}},
        Block.DISPLAY_NAME: {
            Action.DISPLAY_NAME: {
                "type": "plain_text_input",
                "value": draw(st.one_of(st.none(), st.text(max_size=100))),
            }
        },
        Block.INACTIVE_TIMEOUT: {Block.INACTIVE_TIMEOUT: {"type": "number_input", "value": draw(numberish)}},
        Block.OPTIONS: {
            Action.OPTIONS: {
                "type": "checkboxes",
                "selected_options": [
                    option(v)
                    for v in draw(st.sets(st.sampled_from([Option.SPECULATIVE, Option.PROMPT_CACHE])))
                ],
            }
        },
        Block.START: {
            Action.START: {
                "type": "radio_buttons",
                "selected_option": option(draw(st.sampled_from([Option.START_NOW, Option.START_STOPPED]))),
            }
        },
    }
    if draw(st.booleans()):
        state[Block.HARDWARE] = {
            Action.HARDWARE: {"type": "static_select", "selected_option": hardware and option(hardware)}
        }
    if draw(st.booleans()):  # a block Slack leaves out, or a stray one from an older form
        state.pop(draw(st.sampled_from(sorted(state))))
    return state


@FAST
@given(state=launch_states(), hardware_known=st.booleans())
def test_any_launch_form_state_gives_a_draft_or_field_errors(
    state: dict[str, Any], hardware_known: bool
) -> None:
    values = read_form(state)
    if values.problems:
        no_problems(view_ack_problems({"response_action": "errors", "errors": values.problems}))
    else:
        try:
            draft = values.to_draft()
        except UserError as exc:
            errors = {exc.field or Block.MODEL: _short(exc.message)}
            no_problems(view_ack_problems({"response_action": "errors", "errors": errors}))
        else:
            assert isinstance(draft, LaunchDraft)
    # A change of model, hardware or replicas re-renders the form from the same state.
    check_form(values, HARDWARE if hardware_known and values.model else None)


# --- approve and reject -------------------------------------------------------------------------------


def request(**extra: Any) -> LaunchRequest:
    draft = LaunchDraft("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", "1x_nvidia_h100_80gb_sxm", 1, 2)
    fields: dict[str, Any] = dict(
        id=7, team_id="T0SIM", channel_id="C0LAUNCH", requested_by="UREQUESTER", draft=draft,
        cents_per_minute=5.0, requested_at=NOW, status=RequestStatus.PENDING,
    )  # fmt: skip
    fields.update(extra)
    return LaunchRequest(**fields)


@FAST
@given(note=st.text(max_size=MAX_NOTE_LENGTH), decision=st.sampled_from(["approved", "rejected"]))
def test_any_decision_note_gives_a_card_and_a_reply_slack_accepts(note: str, decision: str) -> None:
    kept = _clean(note)  # what approve() and reject() record
    status = RequestStatus.REJECTED if decision == "rejected" else RequestStatus.APPROVED
    decided = request(status=status, decision=decision, decided_by="UAPPROVER1", decision_note=kept)
    text, blocks = RENDERER.card(decided)
    no_problems(message_problems({"text": text, "blocks": blocks}))
    assert all(b.get("type") != "actions" for b in blocks)  # decided: no Approve/Reject buttons left
    reply = RENDERER.thread_reply(decided, {"event": decision, "user": "UAPPROVER1", "note": kept})
    no_problems(message_problems({"text": reply}))
    modal = RENDERER.reject_modal(request(), _ref())
    no_problems(view_problems(modal))


def _ref() -> Any:
    from bot.slack.metadata import RequestRef

    return RequestRef(request_id=7, channel_id="C0LAUNCH", message_ts="1764400000.000100")


# --- stop and delete confirmations --------------------------------------------------------------------


@FAST
@given(
    act=st.sampled_from([Act.STOP, Act.DELETE]),
    display_name=st.text(min_size=1, max_size=100),
    endpoint_id=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=60),
    response_url=st.one_of(st.none(), st.text(max_size=300)),
    state=st.sampled_from(["STARTED", "STOPPED", "PENDING", "READY", "<weird & new>"]),
)
def test_any_confirmation_gives_a_dialog_slack_accepts_and_reads_back(
    act: Act, display_name: str, endpoint_id: str, response_url: str | None, state: str
) -> None:
    endpoint = EndpointRecord(
        id=endpoint_id, request_id=7, name=f"llama-8b-{endpoint_id}", model="m/m", hardware="1x_nvidia_h100_80gb_sxm",
        state=state, state_changed_at=NOW, created_at=NOW,
    )  # fmt: skip
    managed = Managed(
        request(status=RequestStatus.LAUNCHED, endpoint=endpoint), endpoint, display_name, 1, 2, 60
    )
    meta = EndpointActionMeta(
        endpoint_id=endpoint_id,
        act=act.value,
        user_id="UREQUESTER",
        channel_id="C0LAUNCH",
        response_url=response_url,
    )
    modal = views.confirm_modal(act, managed, meta)
    no_problems(view_problems(modal))
    assert (
        EndpointActionMeta.model_validate_json(modal["private_metadata"]) == meta
    )  # what the submission reads
