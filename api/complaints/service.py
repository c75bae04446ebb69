"""Ticket lifecycle. Every writing function is one unit of work (commits); refusals leave
nothing written. Visibility: customers see only their own tickets and never internal notes
(a ticket that is not theirs is "not found"); support and admin see everything. A ticket
names only its customer's own orders and payments (through the goseller and payments
service functions); an agent may open one for a customer, with the customer's references.

Statuses: open -> pending (agent replied, waiting on customer) -> open (customer replied);
open|pending|reopened -> resolved -> closed (final) or -> reopened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth.models import User
from api.complaints.models import ACTIVE_STATUSES, Feedback, Ticket, TicketEvent, TicketMessage
from api.complaints.settings import get_complaints_settings
from api.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from api.goseller.orders import is_order_party
from api.notifications import categories
from api.notifications.service import enqueue
from api.payments.service import load_intent

AGENT_ROLES = frozenset({"support", "admin"})


def is_agent(roles: frozenset[str] | set[str]) -> bool:
    return bool(AGENT_ROLES & set(roles))


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _set_due_times(ticket: Ticket, start: datetime, *, first_response: bool = True) -> None:
    target = get_complaints_settings().sla[ticket.priority]
    if first_response:
        ticket.first_response_due_at = start + timedelta(minutes=target.first_response_minutes)
    ticket.resolution_due_at = start + timedelta(minutes=target.resolution_minutes)


def _event(session: Session, ticket: Ticket, actor_id: int | None, kind: str,
           from_status: str | None = None, **detail) -> None:
    session.add(TicketEvent(ticket_id=ticket.id, actor_id=actor_id, kind=kind,
                            from_status=from_status, to_status=ticket.status, detail=detail))


def _notify_customer(session: Session, ticket: Ticket, subject: str, body: str) -> None:
    """Email + in-app push to the ticket's customer, in the caller's transaction."""
    customer = session.get(User, ticket.customer_id)
    payload = {"ticket_id": ticket.id, "status": ticket.status}
    enqueue(session, channel="email", category=categories.TICKET_REPLY, recipient=customer.email,
            subject=subject, body=body, user_id=customer.id, payload=payload)
    enqueue(session, channel="push", category=categories.TICKET_REPLY,
            recipient=str(customer.id), subject=subject, body=body[:500], user_id=customer.id,
            payload=payload)


def _locked(session: Session, ticket_id: int, actor_id: int, roles: frozenset[str]) -> Ticket:
    ticket = session.scalars(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).first()
    if ticket is None or (not is_agent(roles) and ticket.customer_id != actor_id):
        raise NotFound(f"ticket {ticket_id} does not exist")
    return ticket


def _check_references(session: Session, customer_id: int, order_id: int | None,
                      payment_id: int | None, whose: str) -> None:
    """A ticket names only the customer's own orders (bought or sold) and payments (paid or
    received). Another user's id gets the same 404 as a missing one: ids are not confirmed."""
    if order_id is not None and not is_order_party(session, customer_id, order_id):
        raise NotFound(f"order {order_id} is not one of {whose} orders", code="order_not_found",
                       details={"order_id": order_id})
    if payment_id is not None:
        try:
            load_intent(session, payment_id, viewer_id=customer_id, roles=frozenset())
        except NotFound:
            raise NotFound(f"payment {payment_id} is not one of {whose} payments",
                           code="payment_not_found", details={"payment_id": payment_id}) from None


def open_ticket(session: Session, customer_id: int, *, subject: str, body: str, category: str,
                priority: str = "normal", order_id: int | None = None,
                payment_id: int | None = None, now: datetime | None = None,
                opened_by: int | None = None,
                opener_roles: frozenset[str] = frozenset()) -> Ticket:
    """A customer's ticket, opened by the customer or by a support agent acting for them (on
    the phone, say): `opened_by` an agent. Either way the order and payment it names must be
    the customer's; an agent cannot attach anyone else's to it."""
    now = _now(now)
    opened_by = customer_id if opened_by is None else opened_by
    for_someone = opened_by != customer_id
    if for_someone:
        if not is_agent(opener_roles):
            raise Forbidden("only support agents can open a ticket for another user",
                            code="agents_only")
        customer = session.get(User, customer_id)
        if customer is None or not customer.is_active:
            raise NotFound(f"user {customer_id} does not exist", code="customer_not_found")
    _check_references(session, customer_id, order_id, payment_id,
                      f"customer {customer_id}'s" if for_someone else "your")
    ticket = Ticket(customer_id=customer_id, subject=subject, category=category,
                    priority=priority, status="open", order_id=order_id, payment_id=payment_id,
                    escalation_level=0, reopen_count=0)
    _set_due_times(ticket, now)
    session.add(ticket)
    session.flush()
    session.add(TicketMessage(ticket_id=ticket.id, author_id=opened_by, internal=False,
                              author_role="agent" if for_someone else "customer", body=body))
    detail = {"priority": priority} | ({"on_behalf_of": customer_id} if for_someone else {})
    _event(session, ticket, opened_by, "opened", **detail)
    session.commit()
    return ticket


def get_ticket(session: Session, ticket_id: int, actor_id: int, roles: frozenset[str]) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or (not is_agent(roles) and ticket.customer_id != actor_id):
        raise NotFound(f"ticket {ticket_id} does not exist")
    return ticket


def ticket_messages(session: Session, ticket: Ticket, roles: frozenset[str]
                    ) -> list[TicketMessage]:
    query = select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)
    if not is_agent(roles):
        query = query.where(TicketMessage.internal.is_(False))
    return list(session.scalars(query.order_by(TicketMessage.id)))


def ticket_feedback(session: Session, ticket: Ticket) -> Feedback | None:
    return session.scalars(select(Feedback).where(Feedback.ticket_id == ticket.id)).first()


def list_tickets(session: Session, actor_id: int, roles: frozenset[str], *,
                 status: str | None = None, priority: str | None = None,
                 assignee_id: int | None = None, breached: bool | None = None,
                 limit: int = 50, offset: int = 0) -> list[Ticket]:
    query = select(Ticket)
    if not is_agent(roles):
        query = query.where(Ticket.customer_id == actor_id)
    if status:
        query = query.where(Ticket.status == status)
    if priority:
        query = query.where(Ticket.priority == priority)
    if assignee_id is not None:
        query = query.where(Ticket.assignee_id == assignee_id)
    if breached is not None:
        any_breach = (Ticket.first_response_breached_at.is_not(None)
                      | Ticket.resolution_breached_at.is_not(None))
        query = query.where(any_breach if breached else ~any_breach)
    return list(session.scalars(query.order_by(Ticket.id.desc()).limit(limit).offset(offset)))


def reply(session: Session, ticket_id: int, actor_id: int, roles: frozenset[str], *, body: str,
          internal: bool = False, now: datetime | None = None) -> TicketMessage:
    now = _now(now)
    ticket = _locked(session, ticket_id, actor_id, roles)
    agent = is_agent(roles) and ticket.customer_id != actor_id
    if internal and not agent:
        raise Forbidden("only support agents can write internal notes", code="agents_only")
    if ticket.status in ("resolved", "closed") and not internal:
        raise Conflict(f"ticket is {ticket.status}; reopen it to continue the conversation",
                       code="ticket_not_active")
    message = TicketMessage(ticket_id=ticket.id, author_id=actor_id, internal=internal,
                            author_role="agent" if agent else "customer", body=body)
    session.add(message)
    before = ticket.status
    if agent and not internal:
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
        ticket.status = "pending"
        _notify_customer(session, ticket, f"Re: {ticket.subject} [ticket #{ticket.id}]", body)
    elif not agent and ticket.status == "pending":
        ticket.status = "open"
    if ticket.status != before:
        _event(session, ticket, actor_id, "status", before)
    session.commit()
    return message


def assign(session: Session, ticket_id: int, actor_id: int, roles: frozenset[str], *,
           assignee_id: int) -> Ticket:
    ticket = _locked(session, ticket_id, actor_id, roles)
    if ticket.status == "closed":
        raise Conflict("ticket is closed", code="ticket_closed")
    assignee = session.get(User, assignee_id)
    if assignee is None or not assignee.is_active or not is_agent(set(assignee.roles)):
        raise Unprocessable(f"user {assignee_id} is not an active support agent",
                            code="not_an_agent")
    previous = ticket.assignee_id
    ticket.assignee_id = assignee_id
    _event(session, ticket, actor_id, "assigned", ticket.status, previous=previous,
           assignee_id=assignee_id)
    session.commit()
    return ticket


def set_priority(session: Session, ticket_id: int, actor_id: int, roles: frozenset[str], *,
                 priority: str) -> Ticket:
    """New SLA targets count from when the ticket was opened (or last reopened)."""
    ticket = _locked(session, ticket_id, actor_id, roles)
    if ticket.status not in ACTIVE_STATUSES:
        raise Conflict(f"ticket is {ticket.status}", code="ticket_not_active")
    previous, ticket.priority = ticket.priority, priority
    start = ticket.created_at
    if ticket.reopen_count:
        last = session.scalars(select(TicketEvent.created_at).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "reopened")
            .order_by(TicketEvent.id.desc())).first()
        start = last or start
    _set_due_times(ticket, start, first_response=ticket.first_responded_at is None)
    _event(session, ticket, actor_id, "priority", ticket.status, previous=previous,
           priority=priority)
    session.commit()
    return ticket


def resolve(session: Session, ticket_id: int, actor_id: int, roles: frozenset[str], *,
            resolution: str, now: datetime | None = None) -> Ticket:
    now = _now(now)
    ticket = _locked(session, ticket_id, actor_id, roles)
    if ticket.status not in ACTIVE_STATUSES:
        raise Conflict(f"ticket is already {ticket.status}", code="ticket_not_active")
    before = ticket.status
    ticket.status, ticket.resolution, ticket.resolved_at = "resolved", resolution, now
    if ticket.first_responded_at is None:
        ticket.first_responded_at = now
    _event(session, ticket, actor_id, "status", before)
    _notify_customer(session, ticket, f"Resolved: {ticket.subject} [ticket #{ticket.id}]",
                     f"{resolution}\n\nNot solved? Reopen the ticket. "
                     "Tell us how we did by rating this ticket.")
    session.commit()
    return ticket


def close(session: Session, ticket_id: int, actor_id: int, roles: frozenset[str], *,
          now: datetime | None = None) -> Ticket:
    ticket = _locked(session, ticket_id, actor_id, roles)
    if ticket.status != "resolved":
        raise Conflict(f"only a resolved ticket can be closed (it is {ticket.status})",
                       code="ticket_not_resolved")
    ticket.status, ticket.closed_at = "closed", _now(now)
    _event(session, ticket, actor_id, "status", "resolved")
    session.commit()
    return ticket


def reopen(session: Session, ticket_id: int, actor_id: int, roles: frozenset[str], *,
           reason: str, now: datetime | None = None) -> Ticket:
    """A resolved ticket reopens with a fresh resolution target; closed is final."""
    now = _now(now)
    ticket = _locked(session, ticket_id, actor_id, roles)
    if ticket.status != "resolved":
        raise Conflict(f"only a resolved ticket can be reopened (it is {ticket.status})",
                       code="ticket_not_resolved")
    ticket.status, ticket.resolved_at, ticket.resolution = "reopened", None, None
    ticket.reopen_count += 1
    ticket.resolution_breached_at = None
    _set_due_times(ticket, now, first_response=False)
    agent = is_agent(roles) and ticket.customer_id != actor_id
    session.add(TicketMessage(ticket_id=ticket.id, author_id=actor_id, internal=False,
                              author_role="agent" if agent else "customer", body=reason))
    _event(session, ticket, actor_id, "reopened", "resolved")
    session.commit()
    return ticket


def give_feedback(session: Session, ticket_id: int, actor_id: int, roles: frozenset[str], *,
                  rating: int, comment: str = "") -> Feedback:
    ticket = _locked(session, ticket_id, actor_id, roles)
    if ticket.customer_id != actor_id:
        raise Forbidden("only the customer who raised the ticket can rate it",
                        code="not_ticket_owner")
    if ticket.status not in ("resolved", "closed"):
        raise Conflict("feedback is possible once the ticket is resolved",
                       code="ticket_not_resolved")
    if ticket_feedback(session, ticket) is not None:
        raise Conflict("feedback was already given for this ticket", code="feedback_exists")
    feedback = Feedback(ticket_id=ticket.id, customer_id=actor_id, rating=rating,
                        comment=comment)
    session.add(feedback)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("feedback was already given for this ticket",
                       code="feedback_exists") from None
    _event(session, ticket, actor_id, "feedback", ticket.status, rating=rating)
    session.commit()
    return feedback
