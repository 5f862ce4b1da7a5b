"""The databases the tests run on: SQLite files and PostgreSQL schemas (BOT_TEST_DATABASES picks)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

PG_ROOT = os.environ.get("BOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASES = [
    d.strip() for d in os.environ.get("BOT_TEST_DATABASES", "sqlite,postgresql").split(",") if d.strip()
]


@contextmanager
def pg_schema(prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one test; yields a URL whose connections use it."""
    schema = prefix + uuid.uuid4().hex[:12]
    admin = create_engine(PG_ROOT)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_ROOT}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
