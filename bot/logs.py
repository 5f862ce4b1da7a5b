"""Log output: text for people (the default) or one JSON object per line (BOT_LOG_FORMAT=json) for a log
pipeline. Both carry what is known of the work in hand, as fields: the launch request id, the Together
endpoint id and the Slack user id, from `log_context`. Secrets are replaced before anything is written.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any

CONTEXT_FIELDS = ("request_id", "endpoint_id", "user_id")
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("log_context", default=None)
REDACTED = "[redacted]"


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Within the block, log records carry these fields (None values are left out)."""
    current = dict(_context.get() or {})
    current.update({k: v for k, v in fields.items() if v is not None})
    token = _context.set(current)
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: Any) -> None:
    """Add fields to the current context for the rest of this unit of work (a thread or a Slack request)."""
    current = dict(_context.get() or {})
    current.update({k: v for k, v in fields.items() if v is not None})
    _context.set(current)


def context_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The context fields for a record: those bound by log_context, overridden by a call's `extra=`."""
    fields = dict(_context.get() or {})
    for name in CONTEXT_FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            fields[name] = value
    return {name: fields[name] for name in CONTEXT_FIELDS if name in fields}


class Scrubber:
    def __init__(self, secrets: Sequence[str]) -> None:
        self.secrets = [s for s in secrets if len(s) >= 6]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class RedactSecrets(logging.Filter):
    """Last line of defence: a secret that reaches a log record is replaced before it is written."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.scrub = Scrubber(secrets)
        self.secrets = self.scrub.secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message [request_id=… endpoint_id=… user_id=…]`."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.scrub = Scrubber(secrets)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = context_fields(record)
        if fields:
            line += " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]"
        return self.scrub(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context fields, and any exception."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__()
        self.scrub = Scrubber(secrets)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.scrub(record.getMessage()),
        }
        entry.update({k: self.scrub(str(v)) for k, v in context_fields(record).items()})
        if record.exc_info:
            entry["exception"] = self.scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str, log_format: str, secrets: Sequence[str], stream: IO[str] | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter = JsonFormatter(secrets) if log_format == "json" else TextFormatter(secrets)
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "slack_bolt", "slack_sdk", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
