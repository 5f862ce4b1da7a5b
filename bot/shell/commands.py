"""The shell's command lines: what a person types, turned into driver calls on the running bot."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from bot.domain.catalog import describe_hardware
from bot.domain.errors import UserError
from bot.sandbox.driver import DriverError
from bot.shell.render import PLAIN, Style, buttons, option_text, short_option
from bot.shell.screen import Screen, Snapshot
from bot.shell.wiring import LocalBot
from bot.slack.clock import SLACK_CLOCK
from bot.slack.ids import COMMAND, Block

DEFAULT_WAIT_SECONDS = 60.0
SUBMIT_ANSWER_SECONDS = (
    SLACK_CLOCK  # Slack's own bound on an answer; the bot answers a submission well within it
)
SEARCH_LISTED = 15  # matches listed when a search finds several
FIRST_ANSWER_SECONDS = 5.0  # how long a slash command may take to show its first answer
USER_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

HELP = """\
Commands (one per line):
  /endpoint <text>        type a slash command, e.g. /endpoint create llama-8b h100 2-5
  as <user>               act as someone else, e.g. as approver
  click <label>           click the most recent button with that label, e.g. click Approve;
                          an open form's buttons too (click Stop it, click Cancel)
  set <field> <value>     change a field of your open form (the start of its label is enough),
                          e.g. set min 1 · set display name demo · set note looks fine;
                          the model menu searches: set model qwen
  submit                  submit your open form as it stands
  cancel                  close your open form
  wait <text> [seconds]   wait until a bot message contains the text (default 60 s), e.g. wait STARTED
                          (v1) or wait READY (v2);
                          only messages that arrive or change after the line before it count, so an
                          older message never matches; lowercase text matches any case
  help                    this list
  quit                    leave (end of input does too)
Lines starting with # are comments."""


class ShellError(Exception):
    """A line that cannot be carried out; the message says why and what to do instead."""


class StopScript(Exception):
    """A failed `wait`: what follows in a script would run against the wrong state."""


@dataclass
class Outcome:
    ok: bool = True
    quit: bool = False


class Shell:
    """Runs command lines against a LocalBot and prints what changed in the pretend Slack."""

    def __init__(self, local: LocalBot, out: TextIO, *, user: str, style: Style = PLAIN) -> None:
        self.local = local
        self.out = out
        self.user = user
        self.style = style
        self.screen = Screen(local.fake, local.driver.values, style)
        self.lock = threading.RLock()  # one writer at a time: commands and the background printer
        self._seen: Snapshot = {}  # what Slack showed when the last line ended: `wait` looks past it
        self._commands: dict[str, Callable[[str], None]] = {
            "as": self._as,
            "click": self._click,
            "set": self._set,
            "submit": self._submit,
            "cancel": self._cancel,
            "wait": self._wait,
            "help": self._help,
        }

    # --- output -----------------------------------------------------------------------------

    def say(self, *lines: str) -> None:
        with self.lock:
            self.out.write("".join(line + "\n" for line in lines))
            self.out.flush()

    def flush(self, prompt: Callable[[], str] | None = None) -> bool:
        """Print what changed in Slack since the last flush; True when something was printed.

        With `prompt` (the background printer on a terminal), the output goes above the line being
        typed, which is then drawn again.
        """
        with self.lock:
            lines = self.screen.updates(self.user)
            if lines:
                if prompt is not None:
                    self.out.write("\r\x1b[K")
                self.say(*lines)
                if prompt is not None:
                    self.out.write(prompt())
                    self.out.flush()
            return bool(lines)

    # --- lines ------------------------------------------------------------------------------

    def run_line(self, line: str) -> Outcome:
        """Carry out one line. Failures are printed, never raised (except a failed `wait`: StopScript)."""
        line = line.strip()
        if not line or line.startswith("#"):
            return Outcome()
        word, _, rest = line.partition(" ")
        word, rest = word.lower(), rest.strip()
        if word in ("quit", "exit"):
            return Outcome(quit=True)
        try:
            return self._run(line, word, rest)
        finally:
            with self.lock:  # what is on screen now is what the next `wait` looks past
                self.flush()
                self._seen = self.screen.snapshot()

    def _run(self, line: str, word: str, rest: str) -> Outcome:
        try:
            if line.startswith("/"):
                self._slash(line)
            elif word in self._commands:
                self._commands[word](rest)
            else:
                raise ShellError(
                    f"Unknown command {word!r}. Type `help` for the list; slash commands start with /."
                )
        except (ShellError, DriverError) as exc:
            self._fail(str(exc))
            return Outcome(ok=False)
        except StopScript:
            raise
        except Exception as exc:  # a bug, not the person's fault: still no traceback in their face
            self._fail(f"Unexpected {type(exc).__name__}: {exc}")
            return Outcome(ok=False)
        return Outcome()

    def _fail(self, message: str) -> None:
        self.flush()
        self.say(self.style.error(f"✗ {message}"))

    def _settled(self, timeout: float = 5.0) -> None:
        self.local.settle(timeout=timeout)
        self.flush()

    # --- commands ---------------------------------------------------------------------------

    def _slash(self, line: str) -> None:
        command, _, text = line.partition(" ")
        if command != COMMAND:
            # What Slack itself answers for a command no app in the workspace registered.
            raise ShellError(
                f"{command} is not a valid command. This workspace has {COMMAND}; try `{COMMAND} help`."
            )
        before = self.local.calls
        self.local.driver.command(self.user, text.strip(), command=command)
        # Every command shows something (a form, an answer); the bot may first give Together up to a
        # second, which is longer than `settle` takes for quiet: wait for the first thing shown.
        self.local.wait_for_call(after=before, timeout=FIRST_ANSWER_SECONDS)
        self._settled()

    def _as(self, rest: str) -> None:
        if not USER_RE.match(rest):
            raise ShellError("Say who, as one word: `as approver` (the word is used as the Slack user id).")
        self.user = rest
        self.say(self.style.good(f"You are now @{rest}."))
        self.flush()

    def _click(self, label: str) -> None:
        if not label:
            raise ShellError("Say which button: `click Approve`.")
        view = self.local.driver.view(self.user)
        form = form_buttons(view)
        if form and label.lower() == form[0].lower():
            self._submit("")
            return
        if len(form) > 1 and label.lower() == form[1].lower():
            self._cancel("")
            return
        try:
            self.local.driver.find_button(label, user=self.user)
        except DriverError:
            raise ShellError(f"No button labelled {label!r}.{self._buttons_hint(view)}") from None
        self.local.driver.click(self.user, label)
        self._settled()

    def _buttons_hint(self, view: dict[str, Any] | None) -> str:
        """The labels a person could click now: their open form's, then the messages'."""
        seen: dict[str, None] = {}
        for message in self.screen.all_messages():
            if message.ephemeral_for in (None, self.user):
                seen.update(dict.fromkeys(b for b in buttons(message.blocks) if b))
        parts = []
        if view is not None and form_buttons(view):
            title = str((view.get("title") or {}).get("text", "form"))
            parts.append(f"{', '.join(form_buttons(view))} (in your form “{title}”)")
        if seen:
            parts.append(", ".join(seen) + (" (in messages)" if parts else ""))
        return f" Buttons on screen: {'; '.join(parts)}." if parts else " There are no buttons on screen."

    def _open_form(self, action: str) -> dict[str, Any]:
        view = self.local.driver.view(self.user)
        if view is None:
            others = [self.local.fake.view_user(v["id"]) for v in self.local.fake.open_views()]
            hint = f" (@{others[0]} has one open: `as {others[0]}` first)" if others and others[0] else ""
            raise ShellError(f"@{self.user} has no open form to {action}{hint}.")
        return view

    def _submit(self, rest: str) -> None:
        self._open_form("submit")
        calls = self.local.calls
        errors = self.local.driver.submit(self.user)
        if not errors:
            # The form closed with the ack; the bot's answer (a card, a reply) follows it: let it arrive
            # within this line, so that a `wait` after it looks only at what comes next.
            self.local.wait_for_call(after=calls, timeout=SUBMIT_ANSWER_SECONDS)
        self._settled()
        if errors:
            raise ShellError("The form was not accepted: fix the fields marked ! with `set`, then `submit`.")

    def _cancel(self, rest: str) -> None:
        self._open_form("cancel")
        self.local.driver.cancel(self.user)
        self.flush()

    def _set(self, rest: str) -> None:
        view = self._open_form("change")
        block, value = match_field(view, rest)
        element = block["element"]
        label = str(block["label"]["text"])
        if element.get("type") == "external_select":  # a menu that searches as you type: ask the bot
            chosen = self._search(block, value, label)
            self.local.driver.set(self.user, block["block_id"], chosen)
            self.say(self.style.good(f"{label}: {option_text(chosen)}"))
            self._settled()
            return
        resolved = self._as_in_command(block, value)
        if resolved is None:
            resolved = resolve_value(element, value, label)
        self.local.driver.set(self.user, block["block_id"], resolved)
        shown = value if element.get("type") in _TEXT_TYPES else _describe(element, resolved)
        self.say(self.style.good(f"{label}: {shown or '(empty)'}"))
        self._settled()

    def _as_in_command(self, block: dict[str, Any], value: str) -> str | None:
        """A hardware option named as `/endpoint create` takes it (`h100`, `2xh100`), when it is one the
        form offers; None to match the options' text instead."""
        if block.get("block_id") != Block.HARDWARE or not value.strip():
            return None
        try:
            hardware = self.local.bot.catalog.resolve_hardware(value)
        except UserError:
            return None
        options = block["element"].get("options") or []
        if hardware not in {str(o.get("value")) for o in options}:
            raise ShellError(
                f"{describe_hardware(hardware)} is not among the hardware this form offers for the model. "
                f"Choices: {_listing(options)}."
            )
        return hardware

    def _search(self, block: dict[str, Any], value: str, label: str) -> dict[str, Any]:
        """What typing `value` into a searching menu offers (the bot's options request): the one match, or
        the option that is exactly what was typed; otherwise the matches to choose from."""
        if not value.strip():
            raise ShellError(f"Say what to search for: `set {label.lower()} <words>`, e.g. `set model qwen`.")
        offered = self.local.driver.options(self.user, block["block_id"], value.strip())
        wanted = value.strip().lower()
        exact = [
            o
            for o in offered
            if wanted in (str(o.get("value", "")).lower(), short_option(o).lower(), option_text(o).lower())
        ]
        if len(offered) == 1 or len(exact) == 1:
            return dict(exact[0] if len(exact) == 1 else offered[0])
        if not offered:
            raise ShellError(f"{label}: nothing matches {value!r}. Try fewer or other words.")
        listed = "\n".join(f"    {option_text(o)}" for o in offered[:SEARCH_LISTED])
        more = f"\n    … and {len(offered) - SEARCH_LISTED} more" if len(offered) > SEARCH_LISTED else ""
        raise ShellError(
            f"{label}: {len(offered)} match {value!r}; type more of one (an alias or the model id):\n"
            f"{listed}{more}"
        )

    def _wait(self, rest: str) -> None:
        text, seconds = parse_wait(rest)
        deadline = time.monotonic() + seconds
        while True:
            self.flush()
            found = self.screen.find_text(text, since=self._seen)
            if found is not None:
                self.say(self.style.good(f"✓ seen: {found}"))
                return
            if time.monotonic() >= deadline:
                earlier = self.screen.find_text(text)
                why = (
                    f"it was shown before: “{earlier}”, and only what arrives or changes after the line "
                    "before the wait counts"
                    if earlier is not None
                    else "only what arrives or changes after the line before the wait counts"
                )
                self._fail(f"wait: no bot message containing {text!r} appeared within {seconds:g} s ({why}).")
                raise StopScript()
            time.sleep(0.1)

    def _help(self, _rest: str) -> None:
        self.say(HELP)


_TEXT_TYPES = ("plain_text_input", "number_input", "email_text_input", "url_text_input")


def parse_wait(rest: str) -> tuple[str, float]:
    """`wait <text> [seconds]` → (text, seconds)."""
    words = rest.split()
    if not words:
        raise ShellError("Say what to wait for: `wait STARTED` or `wait STARTED 30`.")
    seconds = DEFAULT_WAIT_SECONDS
    if len(words) > 1:
        try:
            seconds = float(words[-1])
            words = words[:-1]
        except ValueError:
            pass
        if seconds <= 0:
            raise ShellError("The time to wait must be more than 0 seconds.")
    return " ".join(words), seconds


def form_buttons(view: dict[str, Any] | None) -> list[str]:
    """A form's own buttons: [submit, close], as far as it has them."""
    if view is None:
        return []
    submit, close = (str((view.get(k) or {}).get("text", "")) for k in ("submit", "close"))
    return [submit, close] if submit else []


def _inputs(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view.get("blocks") or [] if b.get("type") == "input" and b.get("block_id")]


def match_field(view: dict[str, Any], rest: str) -> tuple[dict[str, Any], str]:
    """`<field label> <value>` → (the input block, the value). The start of a label is enough."""
    words = rest.split(" ")
    blocks = _inputs(view)
    labels = ", ".join(str(b["label"]["text"]) for b in blocks)
    if not rest.strip():
        raise ShellError(f"Say which field and what value: `set <field> <value>`. Fields: {labels}.")
    for cut in range(len(words), 0, -1):
        name = " ".join(words[:cut]).strip().lower()
        if not name:
            continue
        hits = [
            b
            for b in blocks
            if str(b["label"]["text"]).lower().startswith(name) or str(b["block_id"]).lower() == name
        ]
        if len(hits) == 1:
            return hits[0], " ".join(words[cut:]).strip()
        if len(hits) > 1 and cut == 1:
            names = ", ".join(str(b["label"]["text"]) for b in hits)
            raise ShellError(f"{words[0]!r} could be any of: {names}. Type more of the label.")
    raise ShellError(f"This form has no field {words[0]!r}. Fields: {labels}.")


def resolve_value(element: dict[str, Any], value: str, label: str) -> Any:
    """What the driver needs for this element: text as is, an option value, or a list of them."""
    kind = element.get("type", "")
    if kind in ("static_select", "radio_buttons"):
        return _pick(element, value, label).get("value")
    if kind in ("checkboxes", "multi_static_select"):
        if value.strip().lower() in ("", "none", "-"):
            return []
        return [_pick(element, part.strip(), label).get("value") for part in value.split(",") if part.strip()]
    if kind == "number_input" and value and not re.fullmatch(r"-?\d+(\.\d+)?", value):
        raise ShellError(f"{label} takes a number (got {value!r}).")
    return value


def _pick(element: dict[str, Any], value: str, label: str) -> dict[str, Any]:
    """The option whose value or text matches: exactly, then by its start, then anywhere in it."""
    options = element.get("options") or []
    wanted = value.strip().lower()
    if not wanted:
        raise ShellError(f"Say which {label.lower()}: one of {_listing(options)}.")
    for test in (
        lambda o: str(o.get("value", "")).lower() == wanted or option_text(o).lower() == wanted,
        lambda o: short_option(o).lower() == wanted,
        lambda o: option_text(o).lower().startswith(wanted),
        lambda o: wanted in option_text(o).lower(),
    ):
        hits = [o for o in options if test(o)]
        if len(hits) == 1:
            return dict(hits[0])
        if len(hits) > 1:
            raise ShellError(f"{value!r} matches several: {_listing(hits)}. Say more.")
    raise ShellError(f"{label} has no choice {value!r}. Choices: {_listing(options)}.")


def _listing(options: list[dict[str, Any]]) -> str:
    return ", ".join(short_option(o) for o in options)


def _describe(element: dict[str, Any], resolved: Any) -> str:
    values = resolved if isinstance(resolved, list) else [resolved]
    texts = [option_text(o) for o in element.get("options") or [] if o.get("value") in values]
    return ", ".join(texts) if texts else "none"
