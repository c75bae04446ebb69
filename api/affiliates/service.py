"""Affiliate service functions: registration and approval, referral touches (first touch
within the attribution window), commission rules, commissions and their life cycle."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.affiliates import money
from api.affiliates.config import affiliate_settings
from api.affiliates.models import (DEFAULT_CATEGORY, Affiliate, Commission, CommissionRule,
                                   Referral)
from api.auth.models import User
from api.core.errors import AppError, Conflict, NotFound, Unprocessable
from api.goseller.models import Order, OrderItem

log = logging.getLogger("ehb.affiliates")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes (0/O, 1/I)


def utcnow() -> datetime:
    return datetime.now(UTC)


def month_start(moment: datetime) -> date:
    return date(moment.year, moment.month, 1)


# ---- affiliates ----------------------------------------------------------------------------

def register_affiliate(session: Session, user_id: int, website: str | None = None) -> Affiliate:
    if session.scalar(select(Affiliate.id).where(Affiliate.user_id == user_id)):
        raise Conflict("you are already registered as an affiliate", code="affiliate_exists")
    for _ in range(5):
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        affiliate = Affiliate(user_id=user_id, code=code, website=website, status="pending")
        session.add(affiliate)
        try:
            session.commit()
            return affiliate
        except IntegrityError:
            session.rollback()
            if session.scalar(select(Affiliate.id).where(Affiliate.user_id == user_id)):
                raise Conflict("you are already registered as an affiliate",
                               code="affiliate_exists") from None
    raise Conflict("could not allocate a referral code, retry", code="code_collision")


def affiliate_of_user(session: Session, user_id: int) -> Affiliate:
    affiliate = session.scalar(select(Affiliate).where(Affiliate.user_id == user_id))
    if affiliate is None:
        raise NotFound("you are not registered as an affiliate", code="affiliate_not_found")
    return affiliate


def referral_link(affiliate: Affiliate) -> str:
    return f"{affiliate_settings().link_base_url}{affiliate.code}"


def set_affiliate_status(session: Session, affiliate_id: int, status: str, actor_id: int,
                         reason: str | None = None, now: datetime | None = None) -> Affiliate:
    if status not in ("approved", "rejected", "suspended"):
        raise Unprocessable("status must be approved, rejected or suspended", code="bad_status")
    if status != "approved" and not reason:
        raise Unprocessable(f"status {status} needs a reason", code="reason_required")
    affiliate = session.get(Affiliate, affiliate_id, with_for_update=True)
    if affiliate is None:
        raise NotFound(f"affiliate {affiliate_id} not found")
    affiliate.status, affiliate.status_reason = status, reason
    affiliate.status_changed_by = actor_id
    if status == "approved" and affiliate.approved_at is None:
        affiliate.approved_at = now or utcnow()
    session.commit()
    return affiliate


def list_affiliates(session: Session, status: str | None, limit: int, offset: int):
    stmt = select(Affiliate).order_by(Affiliate.id).limit(limit).offset(offset)
    if status:
        stmt = stmt.where(Affiliate.status == status)
    return list(session.scalars(stmt))


# ---- attribution ---------------------------------------------------------------------------

def record_touch(session: Session, user_id: int, code: str, *, kind: str = "visit",
                 now: datetime | None = None, commit: bool = True) -> Referral:
    """Attribute the user to the affiliate behind `code` unless a live (unexpired) referral
    already exists: first touch wins for the attribution window."""
    now = now or utcnow()
    affiliate = session.scalar(select(Affiliate).where(Affiliate.code == code.strip().upper()))
    if affiliate is None or affiliate.status != "approved":
        raise NotFound("unknown referral code", code="unknown_code")
    if affiliate.user_id == user_id:
        raise Unprocessable("you cannot refer yourself", code="self_referral")
    settings = affiliate_settings()
    if kind == "visit":  # the link brought a new account: that is a sign-up referral
        created = session.scalar(select(User.created_at).where(User.id == user_id))
        if created and now - created <= timedelta(hours=settings.signup_grace_hours):
            kind = "signup"
    expires = now + timedelta(days=settings.attribution_window_days)
    stmt = pg_insert(Referral).values(affiliate_id=affiliate.id, referred_user_id=user_id,
                                      kind=kind, first_touch_at=now, expires_at=expires)
    stmt = stmt.on_conflict_do_update(
        index_elements=["referred_user_id"],
        set_={"affiliate_id": stmt.excluded.affiliate_id, "kind": stmt.excluded.kind,
              "first_touch_at": stmt.excluded.first_touch_at,
              "expires_at": stmt.excluded.expires_at},
        where=Referral.expires_at < now)  # only an expired attribution is replaced
    session.execute(stmt)
    referral = session.scalar(select(Referral).where(Referral.referred_user_id == user_id)
                              .execution_options(populate_existing=True))
    if commit:
        session.commit()
    return referral


def attribute_signup(session: Session, user_id: int, code: str,
                     now: datetime | None = None) -> Referral:
    """For a registration flow that carries the code: call inside its transaction (does not
    commit). Without it, a touch soon after sign-up is recorded as a sign-up anyway."""
    return record_touch(session, user_id, code, kind="signup", now=now, commit=False)


def my_referrals(session: Session, user_id: int, limit: int, offset: int) -> list[Referral]:
    affiliate = affiliate_of_user(session, user_id)
    return list(session.scalars(select(Referral).where(Referral.affiliate_id == affiliate.id)
                                .order_by(Referral.id.desc()).limit(limit).offset(offset)))


# ---- rules ---------------------------------------------------------------------------------

def create_rule(session: Session, *, category: str, currency: str, min_monthly_volume_minor: int,
                rate_bps: int) -> CommissionRule:
    rule = CommissionRule(category=category, currency=currency, rate_bps=rate_bps,
                          min_monthly_volume_minor=min_monthly_volume_minor)
    session.add(rule)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("a rule for this category, currency and volume tier exists",
                       code="rule_exists") from None
    return rule


def set_rule_active(session: Session, rule_id: int, active: bool) -> CommissionRule:
    rule = session.get(CommissionRule, rule_id, with_for_update=True)
    if rule is None:
        raise NotFound(f"rule {rule_id} not found")
    rule.active = active
    session.commit()
    return rule


def list_rules(session: Session) -> list[CommissionRule]:
    return list(session.scalars(select(CommissionRule).order_by(
        CommissionRule.currency, CommissionRule.category, CommissionRule.min_monthly_volume_minor)))


def _pick_rate(rules: list[CommissionRule], category: str, volume: int) -> CommissionRule | None:
    """The category's own rules beat the '*' default; within them the highest tier reached."""
    for cat in (category, DEFAULT_CATEGORY):
        tiers = [r for r in rules if r.category == cat and r.min_monthly_volume_minor <= volume]
        if tiers:
            return max(tiers, key=lambda r: r.min_monthly_volume_minor)
    return None


# ---- commissions ---------------------------------------------------------------------------

def record_commission(session: Session, order: Order, now: datetime) -> Commission | None:
    """Called when an order is paid (inside its transaction). Commission only if the buyer's
    live referral covers the placement time and the affiliate is approved. At most one per
    order: the unique order_id with ON CONFLICT DO NOTHING."""
    referral = session.scalar(select(Referral).where(Referral.referred_user_id == order.buyer_id))
    if referral is None or not (referral.first_touch_at <= order.placed_at <= referral.expires_at):
        return None
    # Serialize commissions of one affiliate so monthly volume tiers are computed exactly.
    affiliate = session.get(Affiliate, referral.affiliate_id, with_for_update=True)
    if affiliate.status != "approved" or affiliate.user_id == order.buyer_id:
        return None
    period = month_start(order.paid_at or now)
    volume = session.scalar(select(func.coalesce(func.sum(Commission.order_amount_minor), 0))
                            .where(Commission.affiliate_id == affiliate.id,
                                   Commission.period == period,
                                   Commission.currency == order.currency,
                                   Commission.status != "reversed"))
    rules = list(session.scalars(select(CommissionRule).where(
        CommissionRule.active.is_(True), CommissionRule.currency == order.currency)))
    breakdown, total = [], 0
    for item in session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)
                                .order_by(OrderItem.product_id)):
        line = item.unit_price_minor * item.qty
        rule = _pick_rate(rules, item.category, volume)
        bps = rule.rate_bps if rule else 0
        amount = line * bps // 10_000
        total += amount
        breakdown.append({"product_id": item.product_id, "category": item.category,
                          "line_minor": line, "rate_bps": bps,
                          "rule_id": rule.id if rule else None, "commission_minor": amount})
    commission_id = session.scalar(
        pg_insert(Commission).values(affiliate_id=affiliate.id, referral_id=referral.id,
                                     order_id=order.id, period=period, currency=order.currency,
                                     order_amount_minor=order.subtotal_minor,
                                     commission_minor=total, breakdown=breakdown,
                                     status="pending")
        .on_conflict_do_nothing(index_elements=["order_id"]).returning(Commission.id))
    return session.get(Commission, commission_id) if commission_id else None


def reverse_commission(session: Session, order: Order, now: datetime) -> Commission | None:
    """The order was canceled or returned: its commission is reversed unless already paid
    (a return after payment cannot happen: payment waits for the return window)."""
    commission = session.scalar(select(Commission).where(Commission.order_id == order.id)
                                .with_for_update())
    if commission is None or commission.status == "reversed":
        return commission
    if commission.status == "paid":
        raise Conflict(f"commission {commission.id} was already paid", code="commission_paid")
    commission.status, commission.reversed_at = "reversed", now
    return commission


def approve_due(session: Session, now: datetime | None = None) -> int:
    """pending → approved once the order is delivered and its return window has ended."""
    now = now or utcnow()
    result = session.execute(
        update(Commission).where(Commission.status == "pending",
                                 Commission.order_id == Order.id,
                                 Order.status == "delivered", Order.return_deadline < now)
        .values(status="approved", approved_at=now))
    session.commit()
    return result.rowcount


def pay_approved(session: Session, now: datetime | None = None, limit: int = 500) -> dict:
    """Pay every approved commission through the money seam, each in its own transaction. A
    ledger refusal (e.g. the fee account cannot cover it) leaves the commission approved."""
    now = now or utcnow()
    ids = list(session.scalars(select(Commission.id).where(Commission.status == "approved")
                               .order_by(Commission.id).limit(limit)))
    session.rollback()
    paid = awaiting = 0
    for cid in ids:
        commission = session.scalar(select(Commission).where(Commission.id == cid,
                                                             Commission.status == "approved")
                                    .with_for_update(skip_locked=True))
        if commission is None:
            session.rollback()
            continue
        try:
            with session.begin_nested():
                ref = money.pay_commission(session, commission)
        except AppError as exc:
            log.warning("commission %s not paid: %s", cid, exc.message)
            session.rollback()
            awaiting += 1
            continue
        commission.status, commission.paid_at, commission.ledger_ref = "paid", now, ref
        session.commit()
        paid += 1
    return {"paid": paid, "awaiting_ledger": awaiting}


def my_commissions(session: Session, user_id: int, status: str | None, limit: int,
                   offset: int) -> list[Commission]:
    affiliate = affiliate_of_user(session, user_id)
    stmt = select(Commission).where(Commission.affiliate_id == affiliate.id)
    if status:
        stmt = stmt.where(Commission.status == status)
    return list(session.scalars(stmt.order_by(Commission.id.desc()).limit(limit).offset(offset)))


def my_conversions(session: Session, user_id: int, limit: int, offset: int) -> list[dict]:
    """Orders of referred buyers that earned (or lost) a commission, with the order's state."""
    affiliate = affiliate_of_user(session, user_id)
    rows = session.execute(
        select(Commission, Order.status, Order.placed_at, Order.paid_at)
        .join(Order, Order.id == Commission.order_id)
        .where(Commission.affiliate_id == affiliate.id)
        .order_by(Commission.id.desc()).limit(limit).offset(offset))
    return [{"order_id": c.order_id, "referral_id": c.referral_id, "order_status": status,
             "order_amount_minor": c.order_amount_minor, "currency": c.currency,
             "placed_at": placed, "paid_at": paid, "commission_minor": c.commission_minor,
             "commission_status": c.status} for c, status, placed, paid in rows]


def my_summary(session: Session, user_id: int) -> dict:
    affiliate = affiliate_of_user(session, user_id)
    referrals = session.scalar(select(func.count()).where(Referral.affiliate_id == affiliate.id))
    by_status = session.execute(
        select(Commission.currency, Commission.status, func.count(),
               func.sum(Commission.commission_minor))
        .where(Commission.affiliate_id == affiliate.id)
        .group_by(Commission.currency, Commission.status))
    return {"referrals": referrals,
            "commissions": [{"currency": cur, "status": st, "count": n, "amount_minor": int(s)}
                            for cur, st, n, s in by_status]}
