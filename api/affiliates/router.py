"""/api/v1/affiliates: registration, referral code and link, touches, own referrals,
conversions and commissions; support approves affiliates and manages commission rules."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.affiliates import service
from api.affiliates.permissions import MANAGE, SELF
from api.affiliates.schemas import (AffiliateIn, AffiliateOut, AffiliateStatusIn,
                                    CommissionOut, ConversionOut, ReferralOut, RuleActiveIn,
                                    RuleIn, RuleOut, RunOut, SummaryOut, TouchIn)
from api.auth.dependencies import CurrentUser, Principal, require
from api.deps import SessionDep
from api.validation import Id

router = APIRouter(prefix="/affiliates", tags=["affiliates"])


Me = Annotated[Principal, Depends(require(SELF))]
Manager = Annotated[Principal, Depends(require(MANAGE))]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def _out(affiliate) -> AffiliateOut:
    out = AffiliateOut.model_validate(affiliate)
    out.link = service.referral_link(affiliate)
    return out


@router.post("", response_model=AffiliateOut, status_code=201, summary="Register as affiliate")
def register(body: AffiliateIn, principal: Me, session: SessionDep):
    return _out(service.register_affiliate(session, principal.user_id, body.website))


@router.get("/me", response_model=AffiliateOut, summary="My affiliate account, code and link")
def me(principal: Me, session: SessionDep):
    return _out(service.affiliate_of_user(session, principal.user_id))


@router.get("/me/summary", response_model=SummaryOut, summary="My referral and commission totals")
def summary(principal: Me, session: SessionDep):
    return service.my_summary(session, principal.user_id)


@router.get("/me/referrals", response_model=list[ReferralOut], summary="Users I referred")
def referrals(principal: Me, session: SessionDep, limit: Limit = 50, offset: Offset = 0):
    return service.my_referrals(session, principal.user_id, limit, offset)


@router.get("/me/conversions", response_model=list[ConversionOut],
            summary="Orders of users I referred")
def conversions(principal: Me, session: SessionDep, limit: Limit = 50, offset: Offset = 0):
    return service.my_conversions(session, principal.user_id, limit, offset)


@router.get("/me/commissions", response_model=list[CommissionOut], summary="My commissions")
def commissions(principal: Me, session: SessionDep,
                status: Literal["pending", "approved", "reversed", "paid"] | None = None,
                limit: Limit = 50, offset: Offset = 0):
    return service.my_commissions(session, principal.user_id, status, limit, offset)


@router.post("/touches", response_model=ReferralOut, status_code=201,
             summary="Record that I arrived through a referral code or link (first touch wins)")
def touch(body: TouchIn, principal: CurrentUser, session: SessionDep):
    return service.record_touch(session, principal.user_id, body.code)


@router.get("", response_model=list[AffiliateOut], summary="All affiliates (support)")
def list_affiliates(principal: Manager, session: SessionDep,
                    status: Literal["pending", "approved", "rejected", "suspended"] | None = None,
                    limit: Limit = 50, offset: Offset = 0):
    return [_out(a) for a in service.list_affiliates(session, status, limit, offset)]


@router.post("/{affiliate_id}/status", response_model=AffiliateOut,
             summary="Approve, reject or suspend an affiliate (support)")
def set_status(affiliate_id: Id, body: AffiliateStatusIn, principal: Manager,
               session: SessionDep):
    return _out(service.set_affiliate_status(session, affiliate_id, body.status,
                                             principal.user_id, body.reason))


@router.get("/rules", response_model=list[RuleOut], summary="Commission rules (support)")
def rules(principal: Manager, session: SessionDep):
    return service.list_rules(session)


@router.post("/rules", response_model=RuleOut, status_code=201,
             summary="Add a commission rule: rate per category and monthly volume tier")
def create_rule(body: RuleIn, principal: Manager, session: SessionDep):
    return service.create_rule(session, **body.model_dump())


@router.post("/rules/{rule_id}/active", response_model=RuleOut,
             summary="Enable or disable a rule")
def rule_active(rule_id: Id, body: RuleActiveIn, principal: Manager, session: SessionDep):
    return service.set_rule_active(session, rule_id, body.active)


@router.post("/commissions/run", response_model=RunOut,
             summary="Approve due commissions and pay approved ones (support; also a job)")
def run(principal: Manager, session: SessionDep):
    approved = service.approve_due(session)
    return RunOut(approved=approved, **service.pay_approved(session))
