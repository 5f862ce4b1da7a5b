"""Rows made domain records: the store hands out `LaunchRequest` and `EndpointRecord`, never ORM rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.model import Approval, EndpointRecord, LaunchDraft, LaunchRequest, RequestStatus
from bot.store.tables import ApprovalRow, DecisionRow, EndpointRow, LaunchRequestRow


def load_request(session: Session, request_id: int) -> LaunchRequest | None:
    return load_requests(session, [request_id]).get(request_id)


def load_requests(session: Session, request_ids: list[int]) -> dict[int, LaunchRequest]:
    """Several requests in four queries, whatever their number (the tracker loads every changed one)."""
    if not request_ids:
        return {}
    # Approvals and the decision are read before the request's status: outside a transaction each read
    # sees the latest commit, and this order never shows a request still pending with the approvals that
    # completed it. (Approvals older than the status only make an approval's compare-and-set look again.)
    approvals_of: dict[int, list[ApprovalRow]] = {}
    for approval in session.scalars(
        select(ApprovalRow).where(ApprovalRow.request_id.in_(request_ids)).order_by(ApprovalRow.id)
    ):
        approvals_of.setdefault(approval.request_id, []).append(approval)
    decisions = {
        d.request_id: d
        for d in session.scalars(select(DecisionRow).where(DecisionRow.request_id.in_(request_ids)))
    }
    rows = list(session.scalars(select(LaunchRequestRow).where(LaunchRequestRow.id.in_(request_ids))))
    endpoints = {
        e.request_id: e
        for e in session.scalars(select(EndpointRow).where(EndpointRow.request_id.in_(request_ids)))
    }
    return {
        row.id: _request(row, approvals_of.get(row.id, []), decisions.get(row.id), endpoints.get(row.id))
        for row in rows
    }


def _request(
    row: LaunchRequestRow,
    approvals: list[ApprovalRow],
    decision: DecisionRow | None,
    endpoint: EndpointRow | None,
) -> LaunchRequest:
    return LaunchRequest(
        id=row.id,
        team_id=row.team_id,
        channel_id=row.channel_id,
        requested_by=row.requested_by,
        draft=LaunchDraft(
            model=row.model,
            hardware=row.hardware,
            min_replicas=row.min_replicas,
            max_replicas=row.max_replicas,
            display_name=row.display_name,
            inactive_timeout=row.inactive_timeout,
            speculative_decoding=row.speculative_decoding,
            prompt_cache=row.prompt_cache,
            start_now=row.start_now,
        ),
        cents_per_minute=row.cents_per_minute,
        status=RequestStatus(row.status),
        requested_at=row.requested_at,
        message_ts=row.message_ts,
        decision=decision.decision if decision else None,
        decided_by=decision.user_id if decision else None,
        decided_at=decision.decided_at if decision else None,
        decision_note=decision.note if decision else None,
        launched_at=row.launched_at,
        error_message=row.error_message,
        error_code=row.error_code,
        endpoint=endpoint_record(endpoint) if endpoint else None,
        tier=row.tier,
        approvals_needed=row.approvals_needed,
        approvals=tuple(Approval(a.user_id, a.approved_at, a.note) for a in approvals),
        expires_at=row.expires_at,
        change_of=row.change_of,
        change=row.change_kind,
        previous_replicas=(
            (row.previous_min_replicas, row.previous_max_replicas)
            if row.previous_min_replicas is not None and row.previous_max_replicas is not None
            else None
        ),
    )


def endpoint_record(row: EndpointRow) -> EndpointRecord:
    return EndpointRecord(
        id=row.id,
        request_id=row.request_id,
        name=row.name,
        model=row.model,
        hardware=row.hardware,
        state=row.state,
        state_changed_at=row.state_changed_at,
        created_at=row.created_at,
        problem=row.problem,
        display_name=row.display_name,
        min_replicas=row.min_replicas,
        max_replicas=row.max_replicas,
        inactive_timeout=row.inactive_timeout,
        deleted_at=row.deleted_at,
        delete_requested_by=row.delete_requested_by,
        delete_requested_at=row.delete_requested_at,
        next_reminder_at=row.next_reminder_at,
        last_seen_at=row.last_seen_at,
        startup_phase=row.startup_phase,
        startup_ready=row.startup_ready,
        startup_desired=row.startup_desired,
        startup_since=row.startup_since,
        startup_seen_at=row.startup_seen_at,
        progress_card_at=row.progress_card_at,
        progress_pending=bool(row.progress_pending),
        first_serving_at=row.first_serving_at,
    )
