"""Engines and migrations."""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import IO, Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine suited to the database: SQLite tuned for one process with threads, PostgreSQL pooled."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if parsed.database and parsed.database != ":memory:":
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def ping(engine: Engine) -> None:
    """One round trip to the database; raises what the driver raises when it cannot be reached."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def alembic_config(url: str) -> Config:
    if not MIGRATIONS_DIR.is_dir():
        raise RuntimeError(
            f"migrations folder not found at {MIGRATIONS_DIR}; install with `pip install -e .`"
        )
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


# Any fixed number: PostgreSQL advisory lock that makes processes starting together migrate one at a time.
MIGRATION_LOCK_KEY = 74_230_001


def migrate(engine: Engine) -> None:
    """Apply pending migrations (idempotent; safe when several processes start at once)."""
    url = engine.url.render_as_string(hide_password=False)
    cfg = alembic_config(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Held until this transaction ends: a second process waits, then finds nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


class SingleProcessLock:
    """SQLite serves one bot process. A second one gets a clear message instead of lock errors later."""

    def __init__(self, engine: Engine) -> None:
        self._file: IO[str] | None = None
        database = engine.url.database
        if engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return
        path = Path(database).resolve().with_name(Path(database).name + ".lock")
        handle = open(path, "a+")  # noqa: SIM115 - held open for the life of the process
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise DatabaseInUse(
                f"Another bot process is already using the SQLite database {database}. SQLite serves one "
                "process; to run several (web and worker, or more than one web), set DATABASE_URL to a "
                "PostgreSQL database (postgresql+psycopg://user:password@host/dbname)."
            ) from None
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class DatabaseInUse(Exception):
    """Another process holds the SQLite database; the message says what to do (`bot` prints it as a
    setting to fix, like a ConfigError)."""


def has_record(url: str) -> bool:
    """Whether the database holds the bot's tables, found without creating anything (a SQLite file that
    does not exist stays that way), so that read-only commands can say there is nothing yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or not Path(database).exists():
            return False
    engine = make_engine(url)
    try:
        return inspect(engine).has_table("launch_requests")
    finally:
        engine.dispose()


def schema_heads(engine: Engine) -> set[str]:
    """The revisions a current schema is at (read from migrations/, no database round trip)."""
    return set(_scripts(engine).get_heads())


def current_heads(engine: Engine) -> set[str]:
    """The revisions the database is at: one round trip, raising what the driver raises when unreachable."""
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def pending_migrations(engine: Engine) -> list[str]:
    """Revisions not yet applied (empty when the schema is current)."""
    script = _scripts(engine)
    current = current_heads(engine)
    if current == set(script.get_heads()):
        return []
    return [rev.revision for rev in script.walk_revisions() if rev.revision not in current]


def _scripts(engine: Engine) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))
