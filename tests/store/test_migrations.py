"""Alembic owns the schema: the migrations build exactly the tables the code maps."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.store.db import make_engine, migrate, pending_migrations
from bot.store.tables import Base


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        assert pending_migrations(engine) == []
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_0005_keeps_earlier_approvals_and_downgrades(database_url: str) -> None:
    """Requests approved before 0005 had their one approval in `decisions` only; it is carried over."""
    from alembic import command
    from sqlalchemy import text

    from bot.store.db import alembic_config

    engine = make_engine(database_url)
    try:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "0004")
            connection.execute(
                text(
                    "INSERT INTO launch_requests (id, team_id, channel_id, requested_by, model, hardware, "
                    "min_replicas, max_replicas, speculative_decoding, prompt_cache, start_now, "
                    "cents_per_minute, status, requested_at, updated_at) VALUES (1, 'T1', 'C1', 'UREQ', 'm', "
                    "'h', 1, 1, true, true, true, 9.0, 'launched', '2026-11-01 10:00:00+00:00', "
                    "'2026-11-01 10:00:00+00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO decisions (request_id, team_id, user_id, decision, note, decided_at) "
                    "VALUES (1, 'T1', 'UAPP', 'approved', 'ok', '2026-11-01 10:05:00+00:00')"
                )
            )
            command.upgrade(cfg, "0005")
            command.upgrade(cfg, "head")  # the store maps the latest schema
        from bot.store import Store

        request = Store(engine).get_request(1)
        assert request is not None and [a.user_id for a in request.approvals] == ["UAPP"]
        assert request.approvals_needed == 1 and request.tier is None and request.expires_at is None
        with engine.begin() as connection:
            assert connection.execute(text("SELECT approval_count FROM launch_requests")).scalar() == 1
        if engine.dialect.name == "sqlite":
            return  # SQLite drops columns by copying the table, which its foreign keys forbid with rows in
        with engine.begin() as connection:
            connection.execute(text("UPDATE launch_requests SET status = 'expired'"))
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0004")
            assert connection.execute(text("SELECT status FROM launch_requests")).scalar() == "rejected"
    finally:
        engine.dispose()
