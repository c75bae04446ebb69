"""Saved dashboards: a user's own, or every user's for an admin."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.analytics.models import SavedDashboard
from api.analytics.schemas import DashboardIn
from api.auth.dependencies import Principal
from api.core.errors import Conflict, NotFound

MAX_PER_USER = 200


def _visible(principal: Principal):
    stmt = select(SavedDashboard)
    if not principal.has_role("admin"):
        stmt = stmt.where(SavedDashboard.owner_id == principal.user_id)
    return stmt


def list_dashboards(session: Session, principal: Principal) -> list[SavedDashboard]:
    return list(session.scalars(_visible(principal).order_by(SavedDashboard.updated_at.desc(),
                                                             SavedDashboard.id.desc())))


def get_dashboard(session: Session, principal: Principal, dashboard_id: int) -> SavedDashboard:
    # Someone else's dashboard is "not found", so ids do not reveal what others saved.
    found = session.scalar(_visible(principal).where(SavedDashboard.id == dashboard_id))
    if found is None:
        raise NotFound(f"dashboard {dashboard_id} not found", code="dashboard_not_found")
    return found


def _apply(dashboard: SavedDashboard, body: DashboardIn) -> None:
    dashboard.name = body.name
    dashboard.description = body.description
    dashboard.charts = list(body.charts)
    dashboard.filters = body.filters.model_dump(mode="json", exclude_none=True)


def _commit(session: Session, name: str) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"you already have a dashboard named {name!r}",
                       code="dashboard_name_taken") from None


def create_dashboard(session: Session, principal: Principal, body: DashboardIn) -> SavedDashboard:
    count = session.scalar(select(func.count()).select_from(SavedDashboard)
                           .where(SavedDashboard.owner_id == principal.user_id))
    if count >= MAX_PER_USER:
        raise Conflict(f"at most {MAX_PER_USER} saved dashboards per user",
                       code="too_many_dashboards")
    dashboard = SavedDashboard(owner_id=principal.user_id)
    _apply(dashboard, body)
    session.add(dashboard)
    _commit(session, body.name)
    return dashboard


def update_dashboard(session: Session, principal: Principal, dashboard_id: int,
                     body: DashboardIn) -> SavedDashboard:
    dashboard = get_dashboard(session, principal, dashboard_id)
    _apply(dashboard, body)
    _commit(session, body.name)
    session.refresh(dashboard)
    return dashboard


def delete_dashboard(session: Session, principal: Principal, dashboard_id: int) -> None:
    session.delete(get_dashboard(session, principal, dashboard_id))
    session.commit()
