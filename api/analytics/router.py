"""/api/v1/analytics: saved custom dashboards of the Dash app."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.analytics import service
from api.analytics.permissions import DASHBOARDS
from api.analytics.schemas import ChartOut, DashboardIn, DashboardOut
from api.auth.dependencies import Principal, require
from api.deps import SessionDep
from api.validation import Id
from dashboards.charts import CHARTS

router = APIRouter(prefix="/analytics", tags=["analytics"])

User = Annotated[Principal, Depends(require(DASHBOARDS))]
DashboardId = Id


@router.get("/charts", response_model=list[ChartOut], summary="Charts a dashboard can hold")
def charts(principal: User) -> list[ChartOut]:
    return [ChartOut(key=c.key, title=c.title, mart=c.mart) for c in CHARTS.values()]


@router.get("/dashboards", response_model=list[DashboardOut],
            summary="My saved dashboards (an admin sees everyone's)")
def list_dashboards(principal: User, session: SessionDep) -> list[DashboardOut]:
    return [DashboardOut.model_validate(d) for d in service.list_dashboards(session, principal)]


@router.post("/dashboards", response_model=DashboardOut, status_code=status.HTTP_201_CREATED,
             summary="Save charts and filters as a dashboard")
def create_dashboard(body: DashboardIn, principal: User, session: SessionDep) -> DashboardOut:
    return DashboardOut.model_validate(service.create_dashboard(session, principal, body))


@router.get("/dashboards/{dashboard_id}", response_model=DashboardOut, summary="One dashboard")
def get_dashboard(dashboard_id: DashboardId, principal: User, session: SessionDep) -> DashboardOut:
    return DashboardOut.model_validate(service.get_dashboard(session, principal, dashboard_id))


@router.put("/dashboards/{dashboard_id}", response_model=DashboardOut,
            summary="Replace a dashboard's charts and filters")
def update_dashboard(dashboard_id: DashboardId, body: DashboardIn, principal: User,
                     session: SessionDep) -> DashboardOut:
    return DashboardOut.model_validate(
        service.update_dashboard(session, principal, dashboard_id, body))


@router.delete("/dashboards/{dashboard_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete a dashboard")
def delete_dashboard(dashboard_id: DashboardId, principal: User, session: SessionDep) -> None:
    service.delete_dashboard(session, principal, dashboard_id)
