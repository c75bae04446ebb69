"""/api/v1/franchises: support registers franchises, territories and runs settlements; a
franchisee sees only their own franchises, territories and statements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from api.auth.dependencies import Principal, require
from api.core.errors import NotFound
from api.deps import SessionDep
from api.franchises import service
from api.franchises.models import Franchise, Settlement, Territory
from api.franchises.permissions import MANAGE, SELF
from api.franchises.schemas import (FranchiseIn, FranchiseOut, FranchisePatch, SettleIn,
                                    StatementOut, TerritoryIn, TerritoryOut)
from api.validation import Id

router = APIRouter(prefix="/franchises", tags=["franchises"])


Me = Annotated[Principal, Depends(require(SELF))]
Manager = Annotated[Principal, Depends(require(MANAGE))]


def _territory_out(session: Session, territory: Territory) -> TerritoryOut:
    out = TerritoryOut.model_validate(territory)
    out.postal_codes = service.claims_of(session, territory.id)
    return out


def _statement_out(session: Session, settlement: Settlement, lines: bool) -> StatementOut:
    out = StatementOut.model_validate(settlement)
    if lines:
        out.lines = service.statement_lines(session, settlement.id)
    return out


# ---- franchisee ----------------------------------------------------------------------------

@router.get("/me", response_model=list[FranchiseOut], summary="My franchises")
def my_franchises(principal: Me, session: SessionDep):
    return service.list_franchises(session, owner_user_id=principal.user_id)


@router.get("/me/territories", response_model=list[TerritoryOut], summary="My territories")
def my_territories(principal: Me, session: SessionDep):
    ids = service.own_franchise_ids(session, principal.user_id)
    return [_territory_out(session, t) for t in service.territories_of(session, ids)]


@router.get("/me/statements", response_model=list[StatementOut], summary="My statements")
def my_statements(principal: Me, session: SessionDep):
    ids = service.own_franchise_ids(session, principal.user_id)
    return [_statement_out(session, s, False)
            for s in service.statements(session, franchise_ids=ids)]


@router.get("/me/statements/{settlement_id}", response_model=StatementOut,
            summary="One of my statements with its order lines")
def my_statement(settlement_id: Id, principal: Me, session: SessionDep):
    return _statement_out(session, service.own_statement(session, principal.user_id,
                                                         settlement_id), True)


# ---- support -------------------------------------------------------------------------------

@router.post("", response_model=FranchiseOut, status_code=201, summary="Register a franchise")
def register(body: FranchiseIn, principal: Manager, session: SessionDep):
    return service.register_franchise(session, actor_id=principal.user_id, **body.model_dump())


@router.get("", response_model=list[FranchiseOut], summary="All franchises")
def list_all(principal: Manager, session: SessionDep):
    return service.list_franchises(session)


@router.patch("/{franchise_id}", response_model=FranchiseOut,
              summary="Suspend or change a franchise's revenue share")
def update(franchise_id: Id, body: FranchisePatch, principal: Manager, session: SessionDep):
    return service.update_franchise(session, franchise_id, body.model_dump(exclude_unset=True))


@router.post("/{franchise_id}/territories", response_model=TerritoryOut, status_code=201,
             summary="Add a territory (409 if an exclusive postal code is taken)")
def add_territory(franchise_id: Id, body: TerritoryIn, principal: Manager, session: SessionDep):
    territory = service.add_territory(session, franchise_id, **body.model_dump())
    return _territory_out(session, territory)


@router.get("/{franchise_id}/territories", response_model=list[TerritoryOut],
            summary="Territories of a franchise")
def territories(franchise_id: Id, principal: Manager, session: SessionDep):
    if session.get(Franchise, franchise_id) is None:
        raise NotFound(f"franchise {franchise_id} not found")
    return [_territory_out(session, t) for t in service.territories_of(session, [franchise_id])]


@router.post("/settlements/run", response_model=list[StatementOut],
             summary="Create the monthly statements of a closed month (also a job)")
def settle(body: SettleIn, principal: Manager, session: SessionDep):
    return [_statement_out(session, s, True)
            for s in service.settle_month(session, body.period_start())]


@router.get("/settlements", response_model=list[StatementOut], summary="All statements")
def all_statements(principal: Manager, session: SessionDep):
    return [_statement_out(session, s, False) for s in service.statements(session)]
