"""/api/v1/complaints: tickets for customers (their own) and support agents (all)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth.dependencies import Principal, require
from api.complaints import schemas, service, sla
from api.complaints.permissions import TICKETS_AGENT, TICKETS_OWN
from api.deps import SessionDep
from api.validation import Id

router = APIRouter(prefix="/complaints", tags=["complaints"])
Member = Annotated[Principal, Depends(require(TICKETS_OWN))]
Agent = Annotated[Principal, Depends(require(TICKETS_AGENT))]


def _detail(session, ticket, roles) -> dict:
    data = schemas.TicketOut.model_validate(ticket).model_dump()
    data["messages"] = service.ticket_messages(session, ticket, roles)
    data["feedback"] = service.ticket_feedback(session, ticket)
    return data


@router.post("/tickets", response_model=schemas.TicketDetail, status_code=201,
             summary="Open a ticket")
def open_ticket(body: schemas.TicketIn, p: Member, session: SessionDep) -> dict:
    """The order and payment named must be the customer's own (404 otherwise). A support
    agent may open a ticket for a customer with `customer_id`."""
    fields = body.model_dump()
    customer_id = fields.pop("customer_id") or p.user_id
    ticket = service.open_ticket(session, customer_id, opened_by=p.user_id, opener_roles=p.roles,
                                 **fields)
    return _detail(session, ticket, p.roles)


@router.get("/tickets", response_model=list[schemas.TicketOut],
            summary="Tickets (customers: their own; agents: all), newest first")
def list_tickets(p: Member, session: SessionDep, status: schemas.Status | None = None,
                 priority: schemas.Priority | None = None, assignee_id: Id | None = None,
                 breached: bool | None = None, limit: int = Query(50, ge=1, le=200),
                 offset: int = Query(0, ge=0, le=10_000_000)) -> list:
    return service.list_tickets(session, p.user_id, p.roles, status=status, priority=priority,
                                assignee_id=assignee_id, breached=breached, limit=limit,
                                offset=offset)


@router.get("/tickets/{ticket_id}", response_model=schemas.TicketDetail,
            summary="A ticket with its conversation (internal notes for agents only)")
def get_ticket(ticket_id: Id, p: Member, session: SessionDep) -> dict:
    return _detail(session, service.get_ticket(session, ticket_id, p.user_id, p.roles), p.roles)


@router.post("/tickets/{ticket_id}/replies", response_model=schemas.MessageOut, status_code=201,
             summary="Reply (agents may write internal notes with internal=true)")
def reply(ticket_id: Id, body: schemas.ReplyIn, p: Member, session: SessionDep):
    return service.reply(session, ticket_id, p.user_id, p.roles, **body.model_dump())


@router.post("/tickets/{ticket_id}/assign", response_model=schemas.TicketOut,
             summary="Assign to a support agent")
def assign(ticket_id: Id, body: schemas.AssignIn, p: Agent, session: SessionDep):
    return service.assign(session, ticket_id, p.user_id, p.roles, assignee_id=body.assignee_id)


@router.post("/tickets/{ticket_id}/priority", response_model=schemas.TicketOut,
             summary="Change priority (SLA due times follow)")
def set_priority(ticket_id: Id, body: schemas.PriorityIn, p: Agent, session: SessionDep):
    return service.set_priority(session, ticket_id, p.user_id, p.roles, priority=body.priority)


@router.post("/tickets/{ticket_id}/resolve", response_model=schemas.TicketOut,
             summary="Resolve with a resolution text")
def resolve(ticket_id: Id, body: schemas.ResolveIn, p: Agent, session: SessionDep):
    return service.resolve(session, ticket_id, p.user_id, p.roles, resolution=body.resolution)


@router.post("/tickets/{ticket_id}/close", response_model=schemas.TicketOut,
             summary="Close a resolved ticket (its customer or an agent)")
def close(ticket_id: Id, p: Member, session: SessionDep):
    return service.close(session, ticket_id, p.user_id, p.roles)


@router.post("/tickets/{ticket_id}/reopen", response_model=schemas.TicketOut,
             summary="Reopen a resolved ticket (its customer or an agent)")
def reopen(ticket_id: Id, body: schemas.ReopenIn, p: Member, session: SessionDep):
    return service.reopen(session, ticket_id, p.user_id, p.roles, reason=body.reason)


@router.post("/tickets/{ticket_id}/feedback", response_model=schemas.FeedbackOut,
             status_code=201, summary="Rate a resolved ticket once (1-5 and a comment)")
def feedback(ticket_id: Id, body: schemas.FeedbackIn, p: Member, session: SessionDep):
    return service.give_feedback(session, ticket_id, p.user_id, p.roles, **body.model_dump())


@router.post("/sla/sweep", response_model=schemas.SweepOut,
             summary="Run the SLA breach sweep now (it also runs on a schedule)")
def sweep_now(p: Agent, session: SessionDep) -> dict:
    return sla.sweep(session)
