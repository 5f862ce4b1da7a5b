"""The audit trail: who did what to which request or endpoint. `TxAudit` records (part of `Tx`);
`StoreAudit` reads it back (part of `Store`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import utcnow
from bot.store.tables import AuditEventRow


class TxAudit:
    session: Session
    actions: list[str]

    def record(
        self,
        *,
        team_id: str,
        actor: str,
        action: str,
        request_id: int | None = None,
        endpoint_id: str | None = None,
        **detail: Any,
    ) -> None:
        self.actions.append(action)
        self.session.add(
            AuditEventRow(
                team_id=team_id,
                request_id=request_id,
                endpoint_id=endpoint_id,
                actor=actor,
                action=action,
                detail=detail,
                at=utcnow(),
            )
        )


class StoreAudit:
    _sessions: sessionmaker[Session]

    def events(self, request_id: int) -> list[dict[str, Any]]:
        with self._sessions() as session:
            rows = session.scalars(
                select(AuditEventRow).where(AuditEventRow.request_id == request_id).order_by(AuditEventRow.id)
            )
            return [
                {
                    "action": r.action,
                    "actor": r.actor,
                    "at": r.at,
                    "endpoint_id": r.endpoint_id,
                    "detail": r.detail,
                }
                for r in rows
            ]

    def recent_events(self, limit: int = 25) -> list[dict[str, Any]]:
        """The latest audit events across every request, oldest of them first."""
        with self._sessions() as session:
            rows = list(session.scalars(select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)))
            return [
                {
                    "request_id": r.request_id,
                    "action": r.action,
                    "actor": r.actor,
                    "at": r.at,
                    "endpoint_id": r.endpoint_id,
                    "detail": r.detail,
                }
                for r in reversed(rows)
            ]
