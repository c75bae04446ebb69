"""SLA breach detection and escalation (run by the scheduled sweep job).

A breach is recorded once per target and cycle (first response; resolution, again after a
reopen). Each new breach raises the ticket's escalation level and notifies its assignee, or
the admins when nobody is assigned, in the same transaction. Tickets are locked with SKIP
LOCKED, so overlapping sweeps or a concurrent agent action never double-escalate."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from api.auth.models import User
from api.complaints.models import ACTIVE_STATUSES, Ticket, TicketEvent
from api.complaints.settings import get_complaints_settings
from api.notifications import categories
from api.notifications.service import enqueue

log = logging.getLogger("ehb.complaints")
MAX_ADMIN_RECIPIENTS = 20


def _recipients(session: Session, ticket: Ticket) -> list[User]:
    if ticket.assignee_id is not None:
        agent = session.get(User, ticket.assignee_id)
        if agent is not None and agent.is_active:
            return [agent]
    return list(session.scalars(
        select(User).where(User.roles.any("admin"), User.is_active.is_(True))
        .order_by(User.id).limit(MAX_ADMIN_RECIPIENTS)))


def _escalate(session: Session, ticket: Ticket, breaches: list[str], now: datetime) -> None:
    ticket.escalation_level += 1
    session.add(TicketEvent(ticket_id=ticket.id, actor_id=None, kind="escalated",
                            from_status=ticket.status, to_status=ticket.status,
                            detail={"breaches": breaches, "level": ticket.escalation_level}))
    text = (f"Ticket #{ticket.id} ({ticket.priority}) breached its "
            f"{' and '.join(b.replace('_', ' ') for b in breaches)} target; "
            f"escalation level {ticket.escalation_level}.")
    for user in _recipients(session, ticket):
        payload = {"ticket_id": ticket.id, "breaches": breaches,
                   "level": ticket.escalation_level}
        enqueue(session, channel="push", category=categories.TICKET_ESCALATION,
                recipient=str(user.id), subject=f"SLA breach on ticket #{ticket.id}",
                body=text, user_id=user.id, payload=payload)
        enqueue(session, channel="email", category=categories.TICKET_ESCALATION,
                recipient=user.email, subject=f"SLA breach on ticket #{ticket.id}",
                body=text, user_id=user.id, payload=payload)


def sweep(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """One pass over active tickets past a due time not yet recorded as breached; commits."""
    now = now or datetime.now(UTC)
    first_due = and_(Ticket.first_responded_at.is_(None),
                     Ticket.first_response_breached_at.is_(None),
                     Ticket.first_response_due_at <= now)
    resolution_due = and_(Ticket.resolution_breached_at.is_(None),
                          Ticket.resolution_due_at <= now)
    tickets = session.scalars(
        select(Ticket).where(Ticket.status.in_(ACTIVE_STATUSES), or_(first_due, resolution_due))
        .order_by(Ticket.id).limit(get_complaints_settings().sla_sweep_batch)
        .with_for_update(skip_locked=True)).all()
    counts = {"first_response_breaches": 0, "resolution_breaches": 0, "escalated": 0}
    for ticket in tickets:
        breaches = []
        if (ticket.first_responded_at is None and ticket.first_response_breached_at is None
                and ticket.first_response_due_at <= now):
            ticket.first_response_breached_at = now
            breaches.append("first_response")
            counts["first_response_breaches"] += 1
        if ticket.resolution_breached_at is None and ticket.resolution_due_at <= now:
            ticket.resolution_breached_at = now
            breaches.append("resolution")
            counts["resolution_breaches"] += 1
        if breaches:
            _escalate(session, ticket, breaches, now)
            counts["escalated"] += 1
    session.commit()
    if counts["escalated"]:
        log.info("sla sweep", extra=counts)
    return counts
