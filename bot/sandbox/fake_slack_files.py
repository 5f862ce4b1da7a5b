"""The fake Slack's files: Slack's current upload flow, as slack_sdk's ``files_upload_v2`` drives it.

1. ``files.getUploadURLExternal`` (``filename``, ``length`` in bytes) answers ``upload_url`` and
   ``file_id``; a missing filename or a length that is not a positive whole number is
   ``invalid_arguments``.
2. The bytes are POSTed to ``upload_url`` (no token: the URL itself is the credential); an unknown URL
   is a 404, and a second POST to the same URL is refused too.
3. ``files.completeUploadExternal`` (``files`` as a JSON list of ``{"id", "title"}``, optional
   ``channel_id``, ``initial_comment``, ``thread_ts``) finishes it. A file id Slack never handed out, or
   one whose bytes never arrived, or one already completed, is ``file_not_found``, and nothing is shared.
   With ``channel_id`` the files are shared there in one message carrying ``initial_comment``.
4. ``files.info`` knows completed files only (``file_not_found`` otherwise), and so do image blocks: a
   message whose image block's ``slack_file`` names another id is refused with ``invalid_blocks``.

``conversations.open`` with ``users`` (one user id) answers that person's DM channel with the bot, the
same id every time, as Slack does.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.sandbox.fake_slack_http import UPLOAD_PATH
from bot.sandbox.slack_types import Call

FILE_METHODS = frozenset(
    {
        "files.getUploadURLExternal", "files.completeUploadExternal", "files.info", "files.list",
        "files.delete", "files.upload", "files.sharedPublicURL", "files.revokePublicURL",
        "files.remote.add", "files.remote.info", "files.remote.list", "files.remote.remove",
        "files.remote.share", "files.remote.update", "files.comments.delete",
    }
)  # fmt: skip
_TYPES = {"png": "image/png", "csv": "text/csv", "txt": "text/plain", "json": "application/json"}


@dataclass
class FakeFile:
    id: str
    filename: str
    length: int
    alt_txt: str | None = None
    data: bytes | None = None  # None until the bytes are POSTed
    title: str | None = None
    completed: bool = False
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None

    @property
    def filetype(self) -> str:
        return self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else "binary"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "filetype": self.filetype,
            "mimetype": _TYPES.get(self.filetype, "application/octet-stream"),
            "size": len(self.data or b""),
            "channels": [c for c in self.channels if c.startswith("C")],
            "groups": [c for c in self.channels if c.startswith("G")],
            "ims": [c for c in self.channels if c.startswith("D")],
            "alt_txt": self.alt_txt,
        }


class FileHost(Protocol):
    """The parts of the fake the files use: where it is served, its calls and its channels."""

    @property
    def root_url(self) -> str: ...

    def _record(self, call: Call) -> None: ...

    def _thread_root(self, channel: str, thread_ts: Any) -> tuple[bool, str | None]: ...

    def _share_files(
        self, channel: str, comment: str, thread_ts: str | None, files: list[FakeFile]
    ) -> None: ...


class FakeFiles:
    """The files part of one FakeSlack; its methods run under the fake's lock."""

    def __init__(self, fake: FileHost) -> None:
        self.fake = fake
        self._files: dict[str, FakeFile] = {}
        self._by_ticket: dict[str, str] = {}
        self._dms: dict[str, str] = {}
        self._seq = itertools.count(1)
        self._lock = threading.RLock()

    # ---- what tests look at

    def all(self) -> list[FakeFile]:
        with self._lock:
            return [f for f in self._files.values() if f.completed]

    def shared_in(self, channel: str) -> list[FakeFile]:
        return [f for f in self.all() if channel in f.channels]

    def get(self, file_id: str) -> FakeFile | None:
        with self._lock:
            return self._files.get(file_id)

    def dm_of(self, user: str) -> str:
        """The DM channel id between `user` and the bot."""
        with self._lock:
            return self._dms.setdefault(user, "D" + user.removeprefix("U")[:9].upper().ljust(6, "0"))

    def knows_images_in(self, blocks: list[dict[str, Any]]) -> bool:
        """Whether every image block's `slack_file` names a completed upload (Slack refuses the message
        with invalid_blocks otherwise)."""
        for block in blocks:
            ref = block.get("slack_file") if block.get("type") == "image" else None
            if ref is None:
                continue
            f = self.get(str(ref.get("id") or "")) if isinstance(ref, dict) else None
            if f is None or not f.completed:
                return False
        return True

    # ---- Web API methods

    def get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = str(params.get("filename") or "").strip()
        length = str(params.get("length") or "")
        if not filename or not length.isdigit() or int(length) < 1:
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            file_id = f"F{next(self._seq):09d}"
            ticket = secrets.token_urlsafe(12)
            self._files[file_id] = FakeFile(file_id, filename, int(length), params.get("alt_txt") or None)
            self._by_ticket[ticket] = file_id
        return {"ok": True, "upload_url": f"{self.fake.root_url}{UPLOAD_PATH}{ticket}", "file_id": file_id}

    def receive(self, ticket: str, data: bytes) -> tuple[int, str]:
        """The POST of the bytes to an upload URL: (status, body). Recorded as a call named "upload"."""
        with self._lock:
            file_id = self._by_ticket.pop(ticket, None)
            if file_id is not None:
                self._files[file_id].data = data
        status, body = (404, "upload_url_not_found") if file_id is None else (200, f"OK - {len(data)}")
        params = {"file_id": file_id, "size": len(data)}
        self.fake._record(Call("upload", params, {}, time.time(), status, body))
        return status, body

    def complete(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            wanted = json.loads(params.get("files") or "")
        except (TypeError, ValueError):
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(wanted, list) or not wanted or not all(isinstance(f, dict) for f in wanted):
            return {"ok": False, "error": "invalid_arguments"}
        channel = params.get("channel_id") or None
        thread_ts = params.get("thread_ts") or None
        with self._lock:
            chosen = [self._files.get(str(f.get("id"))) for f in wanted]
            if any(f is None or f.data is None or f.completed for f in chosen):
                return {"ok": False, "error": "file_not_found"}
            if channel is not None and thread_ts is not None:
                found, _root = self.fake._thread_root(channel, thread_ts)
                if not found:
                    return {"ok": False, "error": "thread_not_found"}
            done = []
            for f, spec in zip(chosen, wanted, strict=True):
                assert f is not None
                f.completed = True
                f.title = spec.get("title") or f.filename
                if channel is not None:
                    f.channels.append(channel)
                    f.initial_comment = params.get("initial_comment") or None
                done.append(f)
        if channel is not None:
            self.fake._share_files(channel, params.get("initial_comment") or "", thread_ts, done)
        return {"ok": True, "files": [{"id": f.id, "title": f.title} for f in done]}

    def info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            f = self._files.get(str(params.get("file") or ""))
            if f is None or not f.completed:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "file": f.to_dict()}

    def open_conversation(self, params: dict[str, Any]) -> dict[str, Any]:
        users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if params.get("channel") and not users:
            return {"ok": True, "channel": {"id": params["channel"]}}
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) > 1:  # a group DM: the fake has no use for one yet
            return {"ok": False, "error": "not_implemented"}
        return {"ok": True, "channel": {"id": self.dm_of(users[0]), "is_im": True, "user": users[0]}}


HANDLERS = {
    "files.getUploadURLExternal": lambda fake, params: fake.files.get_upload_url(params),
    "files.completeUploadExternal": lambda fake, params: fake.files.complete(params),
    "files.info": lambda fake, params: fake.files.info(params),
    "conversations.open": lambda fake, params: fake.files.open_conversation(params),
}
