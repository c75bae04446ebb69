"""/api/v1/reports: report definitions, runs and downloads (CSV, XLSX, Parquet, PDF)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import FileResponse, StreamingResponse

from api.auth.dependencies import Principal, require
from api.core.errors import Unprocessable
from api.deps import SessionDep
from api.reports import exports, scheduled, service
from api.reports.permissions import MANAGE, RUN
from api.reports.schemas import (DefinitionIn, DefinitionOut, ExportRunOut, RunIn, RunOut,
                                 SubscriptionIn, SubscriptionOut)
from api.validation import Id

router = APIRouter(prefix="/reports", tags=["reports"])

Runner = Annotated[Principal, Depends(require(RUN))]
Manager = Annotated[Principal, Depends(require(MANAGE))]
ReportId = ItemId = Id


@router.get("", response_model=list[DefinitionOut], summary="Report definitions")
def list_reports(principal: Runner, session: SessionDep) -> list[DefinitionOut]:
    return [DefinitionOut.model_validate(d) for d in service.list_definitions(session)]


@router.post("", response_model=DefinitionOut, status_code=status.HTTP_201_CREATED,
             summary="Define a report: a SELECT over the marts with named $parameters")
def create_report(body: DefinitionIn, principal: Manager, session: SessionDep) -> DefinitionOut:
    return DefinitionOut.model_validate(service.create_definition(session, principal, body))


# Scheduled exports. The fixed paths come before /{report_id} so they are not taken for an id.
@router.get("/subscriptions", response_model=list[SubscriptionOut],
            summary="My report subscriptions (active)")
def list_subscriptions(principal: Runner, session: SessionDep) -> list[SubscriptionOut]:
    return [SubscriptionOut.model_validate(s)
            for s in scheduled.my_subscriptions(session, principal.user_id)]


@router.delete("/subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Stop receiving a scheduled export")
def unsubscribe(subscription_id: ItemId, principal: Runner, session: SessionDep) -> None:
    scheduled.unsubscribe(session, principal, subscription_id)


@router.get("/export-runs", response_model=list[ExportRunOut],
            summary="My scheduled export runs, newest first")
def list_export_runs(principal: Runner, session: SessionDep) -> list[ExportRunOut]:
    return [ExportRunOut.model_validate(r)
            for r in scheduled.my_export_runs(session, principal.user_id)]


@router.get("/export-runs/{run_id}/download", response_class=FileResponse,
            summary="Download a scheduled export's file (the link in the email)")
def download_export(run_id: ItemId, principal: Runner, session: SessionDep) -> FileResponse:
    path, fmt = scheduled.export_file_for(session, principal, run_id)
    return FileResponse(path, media_type=exports.MEDIA_TYPES[fmt], filename=path.name)


@router.post("/{report_id}/subscriptions", response_model=SubscriptionOut,
             status_code=status.HTTP_201_CREATED,
             summary="Receive this report by email daily, weekly or monthly")
def subscribe(report_id: ReportId, body: SubscriptionIn, principal: Runner,
              session: SessionDep) -> SubscriptionOut:
    return SubscriptionOut.model_validate(scheduled.subscribe(session, principal, report_id,
                                                              body))


@router.get("/{report_id}", response_model=DefinitionOut, summary="One report definition")
def get_report(report_id: ReportId, principal: Runner, session: SessionDep) -> DefinitionOut:
    return DefinitionOut.model_validate(service.get_definition(session, report_id))


@router.put("/{report_id}", response_model=DefinitionOut, summary="Replace a report definition")
def update_report(report_id: ReportId, body: DefinitionIn, principal: Manager,
                  session: SessionDep) -> DefinitionOut:
    return DefinitionOut.model_validate(service.update_definition(session, report_id, body))


@router.delete("/{report_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete a report definition")
def delete_report(report_id: ReportId, principal: Manager, session: SessionDep) -> None:
    service.delete_definition(session, report_id)


@router.post("/{report_id}/run", response_model=RunOut,
             summary="Run with parameters; rows you may see, up to `limit`")
def run_report(report_id: ReportId, body: RunIn, principal: Runner,
               session: SessionDep) -> RunOut:
    defn = service.get_definition(session, report_id)
    result, truncated, params = service.run(defn, body.parameters, service.scope_of(principal),
                                            body.limit)
    rows = [[exports._cell(v) if isinstance(v, list) else v for v in r] for r in result.rows]
    return RunOut(columns=result.columns, rows=rows, row_count=len(rows), truncated=truncated,
                  parameters=params)


@router.get("/{report_id}/export.{fmt}", summary="Download every row: csv, xlsx, parquet or pdf "
            "(query string = parameters)", response_class=StreamingResponse)
def export_report(report_id: ReportId, fmt: str, request: Request, principal: Runner,
                  session: SessionDep) -> StreamingResponse:
    # A plain def: FastAPI runs it in the thread pool, so the query and the file writing
    # never block the event loop; CSV then streams batch by batch.
    if fmt not in exports.MEDIA_TYPES:
        raise Unprocessable(f"format must be one of {', '.join(exports.MEDIA_TYPES)}",
                            code="unknown_format")
    defn = service.get_definition(session, report_id)
    params = service.bind(defn, dict(request.query_params))
    query = service.execute(defn, params, service.scope_of(principal))
    name = f"{exports.slug(defn.name)}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        body = exports.csv_chunks(query)
    else:
        path = exports.temp_path(fmt)
        exports.write_file(fmt, query, path, defn, params)
        body = exports.file_chunks(path)
    return StreamingResponse(body, media_type=exports.MEDIA_TYPES[fmt], headers=headers)
