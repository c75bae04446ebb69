"""/api/v1/goseller: sellers, catalog and search, cart and orders, payouts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from api.auth.dependencies import CurrentUser, Principal, require
from api.deps import SessionDep
from api.goseller import orders, service
from api.goseller.models import Order
from api.goseller.permissions import OPERATE, SELL, VERIFY
from api.goseller.schemas import (CartItemIn, OrderOut, PayIn, PayoutOut, PayoutRunOut, PlaceIn,
                                  ProductIn, ProductOut, ProductPage, ProductPatch, ReasonIn,
                                  SellerIn, SellerOut, SellerStatusIn)
from api.validation import Id

router = APIRouter(prefix="/goseller", tags=["goseller"])


Seller_ = Annotated[Principal, Depends(require(SELL))]
Verifier = Annotated[Principal, Depends(require(VERIFY))]
Operator = Annotated[Principal, Depends(require(OPERATE))]
OrderStatus = Literal["cart", "placed", "paid", "fulfilled", "delivered", "canceled",
                      "returned"]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def _order_out(session: Session, order: Order) -> OrderOut:
    out = OrderOut.model_validate(order)
    out.items = orders.order_items(session, order.id)
    return out


# ---- sellers -------------------------------------------------------------------------------

@router.post("/sellers", response_model=SellerOut, status_code=201, summary="Register my shop")
def register_seller(body: SellerIn, principal: Seller_, session: SessionDep):
    return service.register_seller(session, principal.user_id, body.shop_name)


@router.get("/sellers/me", response_model=SellerOut, summary="My shop and its status")
def my_shop(principal: Seller_, session: SessionDep):
    return service.seller_of_user(session, principal.user_id)


@router.get("/sellers", response_model=list[SellerOut], summary="All shops (support)")
def list_sellers(principal: Verifier, session: SessionDep,
                 status: Literal["pending", "verified", "suspended"] | None = None,
                 limit: Limit = 50, offset: Offset = 0):
    return service.list_sellers(session, status, limit, offset)


@router.post("/sellers/{seller_id}/status", response_model=SellerOut,
             summary="Verify or suspend a shop (support)")
def set_seller_status(seller_id: Id, body: SellerStatusIn, principal: Verifier,
                      session: SessionDep):
    return service.set_seller_status(session, seller_id, body.status, principal.user_id,
                                     body.reason)


# ---- catalog -------------------------------------------------------------------------------

@router.post("/products", response_model=ProductOut, status_code=201, summary="Add a product")
def create_product(body: ProductIn, principal: Seller_, session: SessionDep):
    return service.create_product(session, principal.user_id, **body.model_dump())


@router.patch("/products/{product_id}", response_model=ProductOut,
              summary="Change one of my products")
def update_product(product_id: Id, body: ProductPatch, principal: Seller_, session: SessionDep):
    return service.update_product(session, principal.user_id, product_id,
                                  body.model_dump(exclude_unset=True))


@router.get("/my/products", response_model=list[ProductOut], summary="My catalog")
def my_products(principal: Seller_, session: SessionDep, limit: Limit = 50, offset: Offset = 0):
    return service.list_own_products(session, principal.user_id, limit, offset)


@router.get("/products", response_model=ProductPage, summary="Search the catalog")
def search(principal: CurrentUser, session: SessionDep,
           q: Annotated[str | None, Query(max_length=100)] = None,
           category: Annotated[str | None, Query(max_length=64)] = None,
           seller_id: Id | None = None,
           currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
           min_price: Annotated[int | None, Query(ge=0, le=10**15)] = None,
           max_price: Annotated[int | None, Query(ge=0, le=10**15)] = None,
           in_stock: bool = False, sort: str = "newest", limit: Limit = 20, offset: Offset = 0):
    return service.search_products(session, q=q, category=category and category.lower(),
                                   seller_id=seller_id, currency=currency, min_price=min_price,
                                   max_price=max_price, in_stock=in_stock, sort=sort,
                                   limit=limit, offset=offset)


@router.get("/products/{product_id}", response_model=ProductOut, summary="One product")
def product(product_id: Id, principal: CurrentUser, session: SessionDep):
    return service.public_product(session, product_id)


# ---- buyer ---------------------------------------------------------------------------------

@router.put("/cart/items", response_model=OrderOut, summary="Set a product's quantity in my cart")
def set_cart_item(body: CartItemIn, principal: CurrentUser, session: SessionDep):
    order = orders.set_cart_item(session, principal.user_id, body.product_id, body.qty)
    return _order_out(session, order)


@router.get("/orders", response_model=list[OrderOut], summary="My orders and carts")
def my_orders(principal: CurrentUser, session: SessionDep, status: OrderStatus | None = None,
              limit: Limit = 50, offset: Offset = 0):
    return [_order_out(session, o)
            for o in orders.list_buyer_orders(session, principal.user_id, status, limit, offset)]


@router.get("/orders/{order_id}", response_model=OrderOut, summary="One of my orders")
def my_order(order_id: Id, principal: CurrentUser, session: SessionDep):
    return _order_out(session, orders.get_buyer_order(session, principal.user_id, order_id))


@router.post("/orders/{order_id}/place", response_model=OrderOut,
             summary="Place my cart: reserves stock")
def place(order_id: Id, body: PlaceIn, principal: CurrentUser, session: SessionDep):
    address = orders.Address(**body.address.model_dump())
    return _order_out(session, orders.place_order(session, principal.user_id, order_id, address))


@router.post("/orders/{order_id}/pay", response_model=OrderOut,
             summary="Pay a placed order from my wallet, topped up by a card if named")
def pay(order_id: Id, principal: CurrentUser, session: SessionDep, body: PayIn | None = None):
    method = body.payment_method_id if body else None
    return _order_out(session, orders.pay_order(session, principal.user_id, order_id,
                                                payment_method_id=method))


@router.post("/orders/{order_id}/cancel", response_model=OrderOut,
             summary="Cancel my order (before fulfilment): releases stock, refunds")
def cancel(order_id: Id, body: ReasonIn, principal: CurrentUser, session: SessionDep):
    return _order_out(session, orders.cancel_by_buyer(session, principal.user_id, order_id,
                                                      body.reason))


@router.post("/orders/{order_id}/return", response_model=OrderOut,
             summary="Return a delivered order within the return window: refunds")
def return_(order_id: Id, body: ReasonIn, principal: CurrentUser, session: SessionDep):
    return _order_out(session, orders.return_order(session, principal.user_id, order_id,
                                                   body.reason))


# ---- seller's orders -----------------------------------------------------------------------

@router.get("/seller/orders", response_model=list[OrderOut], summary="Orders of my shop")
def shop_orders(principal: Seller_, session: SessionDep, status: OrderStatus | None = None,
                limit: Limit = 50, offset: Offset = 0):
    return [_order_out(session, o)
            for o in orders.list_seller_orders(session, principal.user_id, status, limit, offset)]


@router.get("/seller/orders/{order_id}", response_model=OrderOut, summary="One order of my shop")
def shop_order(order_id: Id, principal: Seller_, session: SessionDep):
    return _order_out(session, orders.get_seller_order(session, principal.user_id, order_id))


@router.post("/seller/orders/{order_id}/fulfill", response_model=OrderOut,
             summary="Mark a paid order shipped")
def fulfill(order_id: Id, principal: Seller_, session: SessionDep):
    return _order_out(session, orders.fulfill_order(session, principal.user_id, order_id))


@router.post("/seller/orders/{order_id}/deliver", response_model=OrderOut,
             summary="Mark a shipped order delivered: starts the return window")
def deliver(order_id: Id, principal: Seller_, session: SessionDep):
    return _order_out(session, orders.deliver_order(session, principal.user_id, order_id))


@router.post("/seller/orders/{order_id}/cancel", response_model=OrderOut,
             summary="Cancel an order of my shop (reason required)")
def shop_cancel(order_id: Id, body: ReasonIn, principal: Seller_, session: SessionDep):
    return _order_out(session, orders.cancel_by_seller(session, principal.user_id, order_id,
                                                       body.reason))


@router.get("/seller/payouts", response_model=list[PayoutOut], summary="My payouts")
def my_payouts(principal: Seller_, session: SessionDep, limit: Limit = 50, offset: Offset = 0):
    return orders.list_seller_payouts(session, principal.user_id, limit, offset)


@router.post("/payouts/run", response_model=PayoutRunOut,
             summary="Pay out orders whose return window ended (support; also a job)")
def run_payouts(principal: Operator, session: SessionDep):
    made = orders.run_payouts(session)
    return PayoutRunOut(created=len(made), payouts=made)
