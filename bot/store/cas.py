"""Compare-and-set: the one way the store changes a row that others may be changing too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from bot.store.tables import Base


def compare_and_set(
    session: Session, table: type[Base], /, *where: ColumnElement[bool], **values: Any
) -> bool:
    """Set `values` on the one row of `table` matching `where`, if it still matches. True only for the
    caller whose UPDATE changed it: two processes (or two clicks) racing on the same row, one wins."""
    result = session.execute(
        update(table).where(*where).values(**values).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]
