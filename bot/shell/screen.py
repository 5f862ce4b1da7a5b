"""What changed in the pretend Slack since it was last shown: new messages, edits, replies, forms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.sandbox.block_kit_rules import REFUSALS
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_types import Message
from bot.shell.render import PLAIN, Style, buttons, message_lines, view_lines

BOT_NAME = "endpoint-bot"

# Per message ((channel, ts, ephemeral for whom)), the lines it showed at some moment.
Snapshot = dict[tuple[str, str, str | None], frozenset[str]]


def _key(message: Message) -> tuple[str, str, str | None]:
    return (message.channel, message.ts, message.ephemeral_for)


def _shown(message: Message) -> list[str]:
    return message_lines(message, PLAIN) + [message.text or ""]


@dataclass
class _Item:
    ts: str
    lines: list[str]


class Screen:
    """Remembers what was shown and renders only what is new, in the order Slack would show it."""

    def __init__(
        self,
        fake: FakeSlack,
        values: Callable[[dict[str, Any]], dict[str, Any]],
        style: Style = PLAIN,
        folder: Path | None = None,
    ) -> None:
        self.fake = fake
        self.folder = folder  # where files shared in the pretend Slack are saved (default: the current one)
        self.values = values  # a form's current values (with what was typed but not sent)
        self.style = style
        self._messages: dict[tuple[str, str], int] = {}  # (channel, ts) -> edits shown
        self._ephemerals: dict[str, int] = {}  # ts -> edits shown
        self._views: dict[str, tuple[str, str]] = {}  # view id -> (hash, errors) shown
        self._titles: dict[str, str] = {}
        self._bodies: dict[tuple[str, str], list[str]] = {}  # what each message showed last
        self._buttons: dict[tuple[str, str], list[str]] = {}
        self._calls_seen = 0  # calls to the fake already looked at for refusals

    # --- reading the fake -------------------------------------------------------------------

    def all_messages(self) -> list[Message]:
        """Every message a person could see: top-level, thread replies and ephemerals."""
        found: list[Message] = []
        for channel in self.fake.channels():
            for top in self.fake.messages(channel):
                found.append(top)
                found.extend(self.fake.replies(channel, top.ts))
        found.extend(self.fake.ephemerals())
        return found

    def snapshot(self) -> Snapshot:
        """What every message shows now, line by line: `find_text` can then look only at what is newer."""
        return {_key(m): frozenset(_shown(m)) for m in self.all_messages()}

    def find_text(self, needle: str, since: Snapshot | None = None) -> str | None:
        """The first line of a bot message containing `needle` (case-insensitive when it is all lowercase).

        With `since`, only lines that were not there then count: new messages, and the changed lines of
        edited ones (a card's new state, not the text it showed all along).
        """
        fold = needle == needle.lower()
        for message in self.all_messages():
            before = since.get(_key(message), frozenset()) if since is not None else frozenset()
            for line in _shown(message):
                hay = line.lower() if fold else line
                if needle in hay and line not in before:
                    return line.strip()
        return None

    # --- rendering what is new --------------------------------------------------------------

    def updates(self, me: str) -> list[str]:
        """Lines for everything new or changed since the last call, for person `me`."""
        items: list[_Item] = []
        for channel in self.fake.channels():
            for top in self.fake.messages(channel):
                items += self._thread(channel, top)
        for message in self.fake.ephemerals():
            if self._ephemerals.get(message.ts) == message.edits:
                continue
            updated = message.ts in self._ephemerals
            self._ephemerals[message.ts] = message.edits
            who = "you" if message.ephemeral_for == me else f"@{message.ephemeral_for}"
            head = f"{self._where(message.channel)} {BOT_NAME}" + (" (updated)" if updated else "")
            items.append(
                _Item(
                    message.ts,
                    [head + self.style.private(f"  [only visible to {who}]")]
                    + self._indent(message_lines(message, self.style), "  "),
                )
            )
        items += self._refusals()
        items.sort(key=lambda item: float(item.ts))
        lines = [line for item in items for line in item.lines]
        return lines + self._forms()

    def _refusals(self) -> list[_Item]:
        """What Slack refused the bot since the last call: in a workspace, nobody would see what it sent."""
        calls = self.fake.calls()
        new, self._calls_seen = calls[self._calls_seen :], len(calls)
        items = []
        for call in new:
            if call.error not in REFUSALS:
                continue
            reason = f": {call.problems[0]}" if call.problems else ""
            more = f" (and {len(call.problems) - 1} more)" if len(call.problems) > 1 else ""
            line = (
                f"✗ Slack refused the bot's {call.method} ({call.error}){reason}{more}. In a real workspace "
                "nobody would see it: this is a bug in the bot."
            )
            items.append(_Item(f"{call.at:.6f}", [self.style.error(line)]))
        return items

    def _thread(self, channel: str, top: Message) -> list[_Item]:
        key = (channel, top.ts)
        changed = self._messages.get(key) != top.edits
        updated = key in self._messages
        self._messages[key] = top.edits
        replies = []
        for reply in self.fake.replies(channel, top.ts):
            rkey = (channel, reply.ts)
            if self._messages.get(rkey) == reply.edits:
                continue
            self._messages[rkey] = reply.edits
            body = message_lines(reply, self.style)
            replies += ["    ↳ " + body[0]] + self._indent(body[1:], "      ")
        if not changed and not replies:
            return []
        lines: list[str] = []
        body = message_lines(top, self.style)
        before = self._bodies.get(key, [])
        self._bodies[key] = body
        if changed and not updated:
            lines += [self.style.bold(f"{self._where(channel)} {BOT_NAME}")] + self._indent(body, "  ")
            lines += self._indent(self._save_files(top), "  ")
        elif changed:
            # An edited card: the lines that changed, under its first line, as a person's eye would catch.
            fresh = [line for line in body if line not in before]
            now = buttons(top.blocks)
            lost = [label for label in self._buttons.get(key, []) if label not in now]
            head = f"{self._where(channel)} {BOT_NAME} updated “{self._quote(top)}”:"
            lines += [self.style.bold(head)] + self._indent(fresh, "  ")
            if lost:
                lines.append(self.style.dim(f"  (no more buttons: {', '.join(lost)})"))
        else:
            lines.append(self.style.dim(f"{self._where(channel)} in the thread of “{self._quote(top)}”"))
        self._buttons[key] = buttons(top.blocks)
        return [_Item(top.ts, lines + replies)]

    def _save_files(self, message: Message) -> list[str]:
        """Files shared with a message (a chart, a CSV), saved where the shell runs, and where they went."""
        lines = []
        for file_id in (message.metadata or {}).get("files") or []:
            shared = self.fake.files.get(file_id)
            if shared is None or shared.data is None:
                continue
            path = (self.folder or Path.cwd()) / Path(shared.filename).name
            try:
                path.write_bytes(shared.data)
            except OSError as exc:
                lines.append(self.style.dim(f"📎 {shared.filename}: not saved ({exc.strerror})"))
                continue
            lines.append(self.style.dim(f"📎 {shared.title or shared.filename}: saved to {path}"))
        return lines

    def _forms(self) -> list[str]:
        lines: list[str] = []
        open_views = {v["id"]: v for v in self.fake.open_views()}
        for view_id in list(self._views):
            if view_id not in open_views:
                del self._views[view_id]
                lines.append(self.style.dim(f"(form “{self._titles.pop(view_id, '')}” closed)"))
        for view_id, view in open_views.items():
            errors = self.fake.view_errors(view_id)
            signature = (str(view.get("hash")), repr(sorted((errors or {}).items())))
            if self._views.get(view_id) == signature:
                continue
            self._views[view_id] = signature
            title = str((view.get("title") or {}).get("text", "Form"))
            self._titles[view_id] = title
            owner = self.fake.view_user(view_id)
            head = f"┌ Form “{title}”" + (f", open for @{owner}" if owner else "")
            lines.append(self.style.bold(head))
            lines += view_lines(view, self.values(view), errors, self.style)
        return lines

    @staticmethod
    def _quote(message: Message) -> str:
        first = message_lines(message, PLAIN)[0].replace("*", "")
        return first if len(first) <= 60 else first[:59] + "…"

    def _where(self, channel: str) -> str:
        return f"#{channel}"

    @staticmethod
    def _indent(lines: list[str], prefix: str) -> list[str]:
        return [prefix + line for line in lines]
