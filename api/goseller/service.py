"""GoSeller service functions: sellers, catalog, search. Orders live in orders.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from api.goseller.models import SELLER_STATUSES, Product, Seller


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---- sellers -------------------------------------------------------------------------------

def register_seller(session: Session, user_id: int, shop_name: str) -> Seller:
    if session.scalar(select(Seller.id).where(Seller.user_id == user_id)):
        raise Conflict("this user already has a shop", code="seller_exists")
    seller = Seller(user_id=user_id, shop_name=shop_name, status="pending")
    session.add(seller)
    try:
        session.commit()
    except IntegrityError:  # a concurrent registration of the same user won
        session.rollback()
        raise Conflict("this user already has a shop", code="seller_exists") from None
    return seller


def seller_of_user(session: Session, user_id: int, *, for_update: bool = False) -> Seller:
    stmt = select(Seller).where(Seller.user_id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    seller = session.scalar(stmt)
    if seller is None:
        raise NotFound("you have no shop; register one first", code="seller_not_found")
    return seller


def active_seller(session: Session, user_id: int) -> Seller:
    """The caller's shop, refused while suspended (pending shops may prepare their catalog)."""
    seller = seller_of_user(session, user_id)
    if seller.status == "suspended":
        raise Forbidden("your shop is suspended", code="seller_suspended")
    return seller


def set_seller_status(session: Session, seller_id: int, status: str, actor_id: int,
                      reason: str | None = None, now: datetime | None = None) -> Seller:
    if status not in SELLER_STATUSES or status == "pending":
        raise Unprocessable("status must be 'verified' or 'suspended'", code="bad_status")
    seller = session.get(Seller, seller_id, with_for_update=True)
    if seller is None:
        raise NotFound(f"seller {seller_id} not found")
    if status == "suspended" and not reason:
        raise Unprocessable("a suspension needs a reason", code="reason_required")
    seller.status = status
    seller.status_reason = reason
    seller.status_changed_by = actor_id
    if status == "verified" and seller.verified_at is None:
        seller.verified_at = now or utcnow()
    session.commit()
    return seller


def list_sellers(session: Session, status: str | None, limit: int, offset: int) -> list[Seller]:
    stmt = select(Seller).order_by(Seller.id).limit(limit).offset(offset)
    if status:
        stmt = stmt.where(Seller.status == status)
    return list(session.scalars(stmt))


# ---- catalog -------------------------------------------------------------------------------

def create_product(session: Session, user_id: int, *, sku: str, title: str, category: str,
                   price_minor: int, currency: str, stock: int, active: bool = True) -> Product:
    seller = active_seller(session, user_id)
    product = Product(seller_id=seller.id, sku=sku, title=title, category=category,
                      price_minor=price_minor, currency=currency, stock=stock, active=active)
    session.add(product)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"SKU {sku!r} already exists in your catalog", code="sku_taken") from None
    return product


def own_product(session: Session, seller: Seller, product_id: int, *,
                for_update: bool = False) -> Product:
    # Another seller's product answers 404, like a missing one: no existence leak.
    stmt = select(Product).where(Product.id == product_id, Product.seller_id == seller.id)
    if for_update:
        stmt = stmt.with_for_update()
    product = session.scalar(stmt)
    if product is None:
        raise NotFound(f"product {product_id} not found in your catalog")
    return product


EDITABLE = {"sku", "title", "category", "price_minor", "currency", "stock", "active"}


def update_product(session: Session, user_id: int, product_id: int, changes: dict) -> Product:
    unknown = set(changes) - EDITABLE
    if unknown:
        raise Unprocessable(f"cannot change {sorted(unknown)}", code="bad_field")
    seller = active_seller(session, user_id)
    product = own_product(session, seller, product_id, for_update=True)
    for key, value in changes.items():
        if value is None:
            raise Unprocessable(f"{key} cannot be null", code="bad_field")
        setattr(product, key, value)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("SKU already exists in your catalog", code="sku_taken") from None
    return product


def list_own_products(session: Session, user_id: int, limit: int, offset: int) -> list[Product]:
    seller = seller_of_user(session, user_id)
    return list(session.scalars(select(Product).where(Product.seller_id == seller.id)
                                .order_by(Product.id).limit(limit).offset(offset)))


@dataclass
class Page:
    items: list
    total: int
    limit: int
    offset: int


SORTS = {"newest": Product.id.desc(), "price_asc": Product.price_minor.asc(),
         "price_desc": Product.price_minor.desc(), "title": Product.title.asc()}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_products(session: Session, *, q: str | None = None, category: str | None = None,
                    seller_id: int | None = None, currency: str | None = None,
                    min_price: int | None = None, max_price: int | None = None,
                    in_stock: bool = False, sort: str = "newest", limit: int = 20,
                    offset: int = 0) -> Page:
    """Public catalog: active products of verified sellers only."""
    if sort not in SORTS:
        raise Unprocessable(f"sort must be one of {sorted(SORTS)}", code="bad_sort")
    if min_price is not None and max_price is not None and min_price > max_price:
        raise Unprocessable("min_price is above max_price", code="bad_price_range")
    conds = [Product.active.is_(True), Seller.status == "verified"]
    if q:
        pattern = f"%{_escape_like(q)}%"
        conds.append(or_(Product.title.ilike(pattern, escape="\\"),
                         Product.sku.ilike(pattern, escape="\\")))
    if category:
        conds.append(Product.category == category)
    if seller_id is not None:
        conds.append(Product.seller_id == seller_id)
    if currency:
        conds.append(Product.currency == currency)
    if min_price is not None:
        conds.append(Product.price_minor >= min_price)
    if max_price is not None:
        conds.append(Product.price_minor <= max_price)
    if in_stock:
        conds.append(Product.stock > 0)
    base = select(Product).join(Seller, Seller.id == Product.seller_id).where(*conds)
    total = session.scalar(select(func.count()).select_from(base.subquery()))
    items = list(session.scalars(base.order_by(SORTS[sort], Product.id).limit(limit)
                                 .offset(offset)))
    return Page(items, total or 0, limit, offset)


def public_product(session: Session, product_id: int) -> Product:
    product = session.scalar(select(Product).join(Seller, Seller.id == Product.seller_id)
                             .where(Product.id == product_id, Product.active.is_(True),
                                    Seller.status == "verified"))
    if product is None:
        raise NotFound(f"product {product_id} not found")
    return product
