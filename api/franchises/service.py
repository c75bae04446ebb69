"""Franchise service functions: registration, territories with exclusive postal-code claims,
order attribution by delivery address, monthly settlement statements."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, exists, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth.models import User
from api.core.errors import AppError, Conflict, NotFound, Unprocessable
from api.franchises import money
from api.franchises.models import (Franchise, OrderAttribution, PostalClaim, Settlement,
                                   SettlementLine, Territory)
from api.goseller.config import goseller_settings
from api.goseller.models import Order

log = logging.getLogger("ehb.franchises")


def utcnow() -> datetime:
    return datetime.now(UTC)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


# ---- franchises ----------------------------------------------------------------------------

def register_franchise(session: Session, *, owner_user_id: int, name: str, share_basis: str,
                       share_bps: int, actor_id: int) -> Franchise:
    owner = session.get(User, owner_user_id)
    if owner is None or not owner.is_active:
        raise Unprocessable(f"user {owner_user_id} does not exist", code="unknown_owner")
    if "franchisee" not in owner.roles:
        raise Unprocessable("the owner needs the franchisee role", code="owner_not_franchisee")
    franchise = Franchise(owner_user_id=owner_user_id, name=name, share_basis=share_basis,
                          share_bps=share_bps, status="active", created_by=actor_id)
    session.add(franchise)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"a franchise named {name!r} exists", code="franchise_exists") from None
    return franchise


def update_franchise(session: Session, franchise_id: int, changes: dict) -> Franchise:
    franchise = session.get(Franchise, franchise_id, with_for_update=True)
    if franchise is None:
        raise NotFound(f"franchise {franchise_id} not found")
    for key, value in changes.items():
        if value is None:
            raise Unprocessable(f"{key} cannot be null", code="bad_field")
        setattr(franchise, key, value)
    session.commit()
    return franchise


def list_franchises(session: Session, owner_user_id: int | None = None) -> list[Franchise]:
    stmt = select(Franchise).order_by(Franchise.id)
    if owner_user_id is not None:
        stmt = stmt.where(Franchise.owner_user_id == owner_user_id)
    return list(session.scalars(stmt))


# ---- territories ---------------------------------------------------------------------------

def add_territory(session: Session, franchise_id: int, *, name: str, country: str,
                  region: str | None, city: str | None, postal_codes: list[str],
                  exclusive: bool) -> Territory:
    """Create a territory and claim its postal codes in one transaction. An exclusive claim
    on a code another exclusive territory holds fails on the unique index: 409, nothing kept."""
    franchise = session.get(Franchise, franchise_id)
    if franchise is None:
        raise NotFound(f"franchise {franchise_id} not found")
    codes = sorted(set(postal_codes))
    if not codes:
        raise Unprocessable("a territory needs at least one postal code", code="no_postal_codes")
    territory = Territory(franchise_id=franchise_id, name=name, country=country, region=region,
                          city=city, exclusive=exclusive)
    session.add(territory)
    try:
        session.flush()
        session.add_all(PostalClaim(territory_id=territory.id, country=country, postal_code=code,
                                    exclusive=exclusive) for code in codes)
        session.commit()
    except IntegrityError:
        session.rollback()
        taken = sorted(session.scalars(select(PostalClaim.postal_code).where(
            PostalClaim.country == country, PostalClaim.exclusive.is_(True),
            PostalClaim.postal_code.in_(codes))))
        raise Conflict("postal codes already belong to an exclusive territory",
                       code="territory_overlap", details={"country": country,
                                                          "postal_codes": taken}) from None
    return territory


def territories_of(session: Session, franchise_ids: list[int]) -> list[Territory]:
    return list(session.scalars(select(Territory).where(Territory.franchise_id.in_(franchise_ids))
                                .order_by(Territory.id)))


def claims_of(session: Session, territory_id: int) -> list[str]:
    return list(session.scalars(select(PostalClaim.postal_code)
                                .where(PostalClaim.territory_id == territory_id)
                                .order_by(PostalClaim.postal_code)))


# ---- attribution ---------------------------------------------------------------------------

def territory_for(session: Session, country: str, postal_code: str) -> PostalClaim | None:
    """An exclusive claim wins; otherwise the oldest non-exclusive claim of an active franchise."""
    return session.scalar(
        select(PostalClaim).join(Territory, Territory.id == PostalClaim.territory_id)
        .join(Franchise, Franchise.id == Territory.franchise_id)
        .where(PostalClaim.country == country, PostalClaim.postal_code == postal_code,
               Franchise.status == "active")
        .order_by(PostalClaim.exclusive.desc(), PostalClaim.id).limit(1))


def attribute_order(session: Session, order: Order) -> OrderAttribution | None:
    if not order.ship_country or not order.ship_postal_code:
        return None
    claim = territory_for(session, order.ship_country, order.ship_postal_code)
    if claim is None:
        return None
    franchise_id = session.scalar(select(Territory.franchise_id)
                                  .where(Territory.id == claim.territory_id))
    row_id = session.scalar(
        pg_insert(OrderAttribution).values(order_id=order.id, territory_id=claim.territory_id,
                                           franchise_id=franchise_id, country=claim.country,
                                           postal_code=claim.postal_code)
        .on_conflict_do_nothing(index_elements=["order_id"]).returning(OrderAttribution.id))
    return session.get(OrderAttribution, row_id) if row_id else None


# ---- settlements ---------------------------------------------------------------------------

def _line_amounts(order: Order, franchise: Franchise) -> tuple[int, int, int]:
    gross = order.subtotal_minor - order.refunded_minor
    net = gross - order.platform_fee_minor
    base = gross if franchise.share_basis == "gross" else net
    return gross, net, base * franchise.share_bps // 10_000


def settle_month(session: Session, period_start: date, now: datetime | None = None) -> list[Settlement]:
    """Statements for every franchise for orders delivered (and not returned) in the month.
    Allowed once the month's last return window has closed, so every line is final. One
    statement per franchise, month and currency (unique); a rerun creates nothing new."""
    now = now or utcnow()
    if period_start.day != 1:
        raise Unprocessable("period must be the first day of a month", code="bad_period")
    if period_start.year == date.max.year and period_start.month == 12:
        # Its end (and return window) lies past the calendar: it can never close.
        raise Unprocessable("period is past the last month that can be settled",
                            code="bad_period")
    period_end = next_month(period_start)
    closes = datetime(period_end.year, period_end.month, 1, tzinfo=UTC) + timedelta(
        days=goseller_settings().return_window_days)
    if now < closes:
        raise Conflict(f"the month can be settled from {closes.isoformat()} (return window)",
                       code="period_open", details={"settle_from": closes.isoformat()})
    start = datetime(period_start.year, period_start.month, 1, tzinfo=UTC)
    end = datetime(period_end.year, period_end.month, 1, tzinfo=UTC)
    settled = exists().where(SettlementLine.order_id == Order.id)
    rows = session.execute(
        select(OrderAttribution.franchise_id, Order)
        .join(Order, Order.id == OrderAttribution.order_id)
        .where(Order.status == "delivered", Order.delivered_at >= start,
               Order.delivered_at < end, ~settled)
        .order_by(OrderAttribution.franchise_id, Order.currency, Order.id)).all()
    session.rollback()
    groups: dict[tuple[int, str], list[Order]] = {}
    for franchise_id, order in rows:
        groups.setdefault((franchise_id, order.currency), []).append(order)
    made = []
    for (franchise_id, currency), orders in groups.items():
        franchise = session.get(Franchise, franchise_id)
        lines = [(o.id, *_line_amounts(o, franchise)) for o in orders]
        settlement = Settlement(
            franchise_id=franchise_id, period_start=period_start, currency=currency,
            share_basis=franchise.share_basis, share_bps=franchise.share_bps,
            order_count=len(lines), gross_minor=sum(l[1] for l in lines),
            net_minor=sum(l[2] for l in lines), share_minor=sum(l[3] for l in lines),
            status="awaiting_ledger")
        session.add(settlement)
        try:
            session.flush()
            session.add_all(SettlementLine(settlement_id=settlement.id, order_id=oid,
                                           gross_minor=g, net_minor=n, share_minor=s)
                            for oid, g, n, s in lines)
            session.flush()
        except IntegrityError:  # a concurrent run settled this franchise-month first
            session.rollback()
            continue
        session.commit()
        _post(session, settlement, now)
        made.append(settlement)
    return made


def _post(session: Session, settlement: Settlement, now: datetime) -> None:
    """Pay the statement's share through the money seam; a ledger refusal leaves it
    'awaiting_ledger' for post_awaiting to retry."""
    settlement = session.scalar(select(Settlement).where(
        Settlement.id == settlement.id, Settlement.status == "awaiting_ledger")
        .with_for_update(skip_locked=True))
    if settlement is None:
        session.rollback()
        return
    try:
        with session.begin_nested():
            ref = money.post_settlement(session, settlement)
    except AppError as exc:
        log.warning("statement %s not posted: %s", settlement.id, exc.message)
        session.rollback()
        return
    settlement.status, settlement.ledger_ref, settlement.posted_at = "posted", ref, now
    session.commit()


def post_awaiting(session: Session, now: datetime | None = None) -> int:
    """Retry statements the ledger refused earlier; returns how many are now posted."""
    now = now or utcnow()
    ids = list(session.scalars(select(Settlement.id)
                               .where(Settlement.status == "awaiting_ledger")))
    session.rollback()
    for sid in ids:
        _post(session, session.get(Settlement, sid), now)
    return session.scalar(select(func.count()).select_from(Settlement).where(
        Settlement.id.in_(ids), Settlement.status == "posted")) if ids else 0


def statements(session: Session, *, franchise_ids: list[int] | None = None) -> list[Settlement]:
    stmt = select(Settlement).order_by(Settlement.period_start.desc(), Settlement.id)
    if franchise_ids is not None:
        stmt = stmt.where(Settlement.franchise_id.in_(franchise_ids))
    return list(session.scalars(stmt))


def statement_lines(session: Session, settlement_id: int) -> list[SettlementLine]:
    return list(session.scalars(select(SettlementLine)
                                .where(SettlementLine.settlement_id == settlement_id)
                                .order_by(SettlementLine.order_id)))


def own_franchise_ids(session: Session, user_id: int) -> list[int]:
    return list(session.scalars(select(Franchise.id).where(Franchise.owner_user_id == user_id)))


def own_statement(session: Session, user_id: int, settlement_id: int) -> Settlement:
    settlement = session.scalar(select(Settlement).join(
        Franchise, and_(Franchise.id == Settlement.franchise_id,
                        Franchise.owner_user_id == user_id))
        .where(Settlement.id == settlement_id))
    if settlement is None:
        raise NotFound(f"statement {settlement_id} not found")
    return settlement
