"""/api/v1/trusty: multisig policies and their changes, protected transfers, cold-storage
vault moves, approvals, the fraud case queue. Money-moving POSTs and decisions take an
Idempotency-Key (their outcome, a refusal included, is replayed for the same key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.auth.dependencies import Principal, require
from api.core.errors import AppError, error_body
from api.deps import SessionDep
from api.trusty import policies, service
from api.trusty.models import ApprovalRequest, FraudCase, PolicyChange, RequestApprover
from api.trusty.permissions import TRUSTY_ADMIN, TRUSTY_APPROVE, TRUSTY_REVIEW, TRUSTY_USE
from api.trusty.schemas import (CaseOut, PolicyChangeOut, PolicyIn, PolicyOut,
                                ProtectedTransferIn, RequestOut, ReviewIn, VaultMoveIn)
from api.validation import Id
from api.wallet.currencies import check_currency
from api.wallet.idempotency import run_idempotent
from api.wallet.router import replayable

router = APIRouter(prefix="/trusty", tags=["trusty"])

IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]
DeviceId = Annotated[str | None, Header(alias="X-Device-ID", max_length=128,
                                        pattern=r"^[\x21-\x7e]+$")]
User_ = Annotated[Principal, Depends(require(TRUSTY_USE))]
Approver = Annotated[Principal, Depends(require(TRUSTY_APPROVE))]
Reviewer = Annotated[Principal, Depends(require(TRUSTY_REVIEW))]


def _idem(session: Session, principal: Principal, key: str | None, scope: str, payload: Any,
          work, on_refusal=None) -> Response:
    return replayable(run_idempotent(session, owner=f"user:{principal.user_id}", key=key,
                                     scope=scope, payload=payload, work=work,
                                     on_refusal=on_refusal))


def _request_json(request: ApprovalRequest) -> dict:
    return RequestOut.model_validate(request).model_dump(mode="json")


def _change_json(change: PolicyChange) -> dict:
    return PolicyChangeOut.model_validate(change).model_dump(mode="json")


def _policy_out(session: Session, policy) -> PolicyOut:
    return PolicyOut(id=policy.id, currency=policy.currency, threshold=policy.threshold,
                     required=policy.required, approver_ids=service.approvers_of(session, policy.id),
                     approval_ttl_seconds=policy.approval_ttl_seconds,
                     vault_delay_seconds=policy.vault_delay_seconds)


@router.put("/policies/{currency}", response_model=PolicyOut,
            responses={202: {"model": PolicyChangeOut, "description":
                             "the change weakens the policy: it waits for the approvers and "
                             "quorum of the policy in force, then its vault delay"}},
            summary="Set my multisig policy (a weakening change needs the current approvers)")
def set_policy(currency: str, body: PolicyIn, session: SessionDep, principal: User_):
    """A new policy, or a change that only tightens the current one, applies at once (200).
    Anything that weakens it (higher threshold, lower quorum, other approvers, shorter vault
    delay, longer approval ttl) is proposed instead (202): the current approvers decide it
    with the current quorum, and it applies after the current vault delay."""
    result = service.set_policy(session, user_id=principal.user_id,
                                currency=check_currency(currency), threshold=body.threshold,
                                required=body.required, approver_ids=body.approver_ids,
                                approval_ttl_seconds=body.approval_ttl_seconds,
                                vault_delay_seconds=body.vault_delay_seconds)
    if isinstance(result, PolicyChange):
        return JSONResponse(_change_json(result), status_code=202)
    return _policy_out(session, result)


@router.get("/policies", response_model=list[PolicyOut], summary="My multisig policies")
def list_policies(session: SessionDep, principal: User_):
    from api.trusty.models import MultisigPolicy

    return [_policy_out(session, p) for p in session.scalars(
        select(MultisigPolicy).where(MultisigPolicy.user_id == principal.user_id))]


@router.post("/transfers", summary="Fraud-checked transfer; held for approval above the "
             "policy threshold (Idempotency-Key)")
def protected_transfer(body: ProtectedTransferIn, request: Request, session: SessionDep,
                       principal: User_, idempotency_key: IdemKey = None,
                       device_id: DeviceId = None):
    client_ip = request.client.host if request.client else None

    def work():
        return service.protected_transfer(
            session, user_id=principal.user_id, to_user_id=body.to_user_id, amount=body.amount,
            currency=body.currency, client_ip=client_ip, device_id=device_id,
            description=body.description)

    def refused(_exc: AppError) -> None:  # still counts for the failed-attempts rule
        service.add_failed_attempt(session, user_id=principal.user_id,
                                   to_user_id=body.to_user_id, amount=body.amount,
                                   currency=body.currency, client_ip=client_ip,
                                   device_id=device_id)

    return _idem(session, principal, idempotency_key, "trusty.transfer", body.model_dump(), work,
                 on_refusal=refused)


def _vault(kind: str):
    def endpoint(body: VaultMoveIn, session: SessionDep, principal: User_,
                 idempotency_key: IdemKey = None):
        def work():
            req = service.request_vault_move(session, user_id=principal.user_id, kind=kind,
                                             amount=body.amount, currency=body.currency)
            return 202, _request_json(req)

        return _idem(session, principal, idempotency_key, f"trusty.{kind}", body.model_dump(), work)

    return endpoint


router.add_api_route("/vault/deposits", _vault("vault_deposit"), methods=["POST"],
                     status_code=202, response_model=RequestOut,
                     summary="Move funds into cold storage (multisig + delay)")
router.add_api_route("/vault/withdrawals", _vault("vault_withdrawal"), methods=["POST"],
                     status_code=202, response_model=RequestOut,
                     summary="Move funds out of cold storage (multisig + delay)")


@router.get("/requests", response_model=list[RequestOut],
            summary="Requests I made or am an approver of")
def list_requests(session: SessionDep, principal: Approver):
    mine = select(RequestApprover.request_id).where(RequestApprover.user_id == principal.user_id)
    return list(session.scalars(select(ApprovalRequest).where(or_(
        ApprovalRequest.requester_id == principal.user_id, ApprovalRequest.id.in_(mine)))
        .order_by(ApprovalRequest.id.desc()).limit(200)))


def _decide(decision: str):
    def endpoint(request_id: Id, session: SessionDep, principal: Approver,
                 idempotency_key: IdemKey = None):
        def work():
            req = service.decide(session, request_id, principal.user_id, decision)
            if req.status == "expired":
                return 409, error_body("request_expired", "the request expired before approval; "
                                       "its funds were released", {"request_id": req.id})
            return 200, _request_json(req)

        return _idem(session, principal, idempotency_key, f"trusty.{decision}:{request_id}", {},
                     work)

    return endpoint


router.add_api_route("/requests/{request_id}/approve", _decide("approve"), methods=["POST"],
                     response_model=RequestOut, summary="Approve (as a named approver)")
router.add_api_route("/requests/{request_id}/reject", _decide("reject"), methods=["POST"],
                     response_model=RequestOut, summary="Reject (as a named approver)")


@router.post("/requests/{request_id}/cancel", response_model=RequestOut,
             summary="Cancel my pending or delayed request (releases the funds)")
def cancel_request(request_id: Id, session: SessionDep, principal: User_,
                   idempotency_key: IdemKey = None):
    def work():
        return 200, _request_json(service.cancel_request(session, request_id, principal.user_id))

    return _idem(session, principal, idempotency_key, f"trusty.cancel:{request_id}", {}, work)


@router.get("/policy-changes", response_model=list[PolicyChangeOut],
            summary="Policy changes I proposed or may decide")
def list_policy_changes(session: SessionDep, principal: Approver):
    return policies.changes_visible_to(session, principal.user_id)


def _decide_change(decision: str):
    def endpoint(change_id: Id, session: SessionDep, principal: Approver,
                 idempotency_key: IdemKey = None):
        def work():
            change = policies.decide_change(session, change_id, principal.user_id, decision)
            if change.status == "expired":
                return 409, error_body("request_expired", "the policy change expired before "
                                       "approval", {"change_id": change.id})
            return 200, _change_json(change)

        return _idem(session, principal, idempotency_key,
                     f"trusty.change.{decision}:{change_id}", {}, work)

    return endpoint


router.add_api_route("/policy-changes/{change_id}/approve", _decide_change("approve"),
                     methods=["POST"], response_model=PolicyChangeOut,
                     summary="Approve a policy change (as one of its deciders)")
router.add_api_route("/policy-changes/{change_id}/reject", _decide_change("reject"),
                     methods=["POST"], response_model=PolicyChangeOut,
                     summary="Reject a policy change (as one of its deciders)")


@router.post("/policy-changes/{change_id}/cancel", response_model=PolicyChangeOut,
             summary="Withdraw my pending or approved policy change before it applies")
def cancel_policy_change(change_id: Id, session: SessionDep, principal: User_,
                         idempotency_key: IdemKey = None):
    def work():
        return 200, _change_json(policies.cancel_change(session, change_id, principal.user_id))

    return _idem(session, principal, idempotency_key, f"trusty.change.cancel:{change_id}", {},
                 work)


@router.get("/fraud/cases", response_model=list[CaseOut], summary="Fraud case queue")
def list_cases(session: SessionDep, principal: Reviewer, status: str = "open"):
    return list(session.scalars(select(FraudCase).where(FraudCase.status == status)
                                .order_by(FraudCase.id).limit(200)))


def _review(approve: bool):
    def endpoint(case_id: Id, body: ReviewIn, session: SessionDep, principal: Reviewer,
                 idempotency_key: IdemKey = None):
        def work():
            case = service.review_case(session, case_id, principal.user_id, approve, body.note)
            return 200, CaseOut.model_validate(case).model_dump(mode="json")

        return _idem(session, principal, idempotency_key,
                     f"trusty.review:{case_id}", {"approve": approve, **body.model_dump()}, work)

    return endpoint


router.add_api_route("/fraud/cases/{case_id}/approve", _review(True), methods=["POST"],
                     response_model=CaseOut, summary="Release a held transfer to its recipient")
router.add_api_route("/fraud/cases/{case_id}/reject", _review(False), methods=["POST"],
                     response_model=CaseOut, summary="Refuse a held transfer; funds go back")


@router.post("/jobs/run-due", summary="Expire stale requests, execute due vault moves")
def run_due(session: SessionDep, principal: Annotated[Principal, Depends(require(TRUSTY_ADMIN))]):
    return service.run_due(session)
