"""GoSeller orders through api.goseller.service / api.goseller.orders: sellers open a shop (a
support agent verifies it) and list a few products; customers buy (paying by card, which tops
up their wallet first), some cancel; shops fulfil and deliver or cancel; a few deliveries are
returned within the window; payouts run every day. Every time is the simulated clock's."""

from __future__ import annotations

import importlib.util
from datetime import date, timedelta

from api.core.errors import AppError

CURRENCY = "EUR"
GOOD_CARD = "4242424242424242"
CATEGORIES = ("home", "books", "garden", "toys", "fashion")
PRICES = (499, 999, 1250, 1999, 2490, 4999)
CITIES = (("Berlin", "10115"), ("Hamburg", "20095"), ("Munich", "80331"), ("Cologne", "50667"))
# chance, each day of the 14-day return window, that a delivery comes back: about 8 % of
# deliveries in all, as in online retail outside fashion (5 % a day returned half of them)
RETURN_PER_DAY = 0.006


class OrdersActivity:
    name = "orders"

    def available(self) -> bool:
        return importlib.util.find_spec("api.goseller.orders") is not None

    def day(self, ctx, index: int, day: date) -> None:
        state = ctx.__dict__.setdefault("orders", {"shops": {}, "cards": {}, "open": []})
        self._open_shops(ctx, day, state)
        self._buy(ctx, day, state)
        self._progress(ctx, day, state)
        with ctx.session() as session:
            from api.goseller import orders

            ctx.at(day, 86_000)
            ctx.count("payouts", len(orders.run_payouts(session, now=ctx.clock.now)))

    def _open_shops(self, ctx, day: date, state: dict) -> None:
        from api.goseller import service as goseller

        rng = ctx.rng
        agents = [u for u in ctx.users if "support" in u["roles"]]
        for user in ctx.users:
            if "seller" not in user["roles"] or user["id"] in state["shops"] or not agents:
                continue
            if rng.random() >= 0.3:
                continue
            now = ctx.at(day, ctx.daytime())
            with ctx.session() as session:
                try:
                    seller = goseller.register_seller(session, user["id"],
                                                      f"Shop {ctx.seed}-{user['id']}")
                    goseller.set_seller_status(session, seller.id, "verified",
                                               rng.choice(agents)["id"], now=now)
                    products = []
                    for n in range(rng.randint(2, 4)):
                        product = goseller.create_product(
                            session, user["id"], sku=f"S{user['id']}-{n}", title=f"Item {n}",
                            category=rng.choice(CATEGORIES), price_minor=rng.choice(PRICES),
                            currency=CURRENCY, stock=rng.randint(20, 60))
                        products.append(product.id)
                    state["shops"][user["id"]] = products
                    ctx.count("shops")
                except AppError:
                    session.rollback()
                    ctx.count("orders_refused")

    def _buy(self, ctx, day: date, state: dict) -> None:
        from api.goseller import orders
        from api.payments import service as payments

        rng = ctx.rng
        shops = sorted(state["shops"].items())
        if not shops:
            return
        customers = [u for u in ctx.users if u["roles"] == frozenset({"customer"})]
        for user in customers:
            if rng.random() >= 0.04:
                continue
            owner, products = shops[min(int(rng.paretovariate(1.3)) - 1, len(shops) - 1)]
            city, postal = rng.choice(CITIES)
            address = orders.Address("Sim Buyer", "Main St 1", city, None, postal, "DE")
            ctx.at(day, ctx.daytime())
            with ctx.session() as session:
                try:
                    order = orders.set_cart_item(session, user["id"], rng.choice(products),
                                                 rng.choice((1, 1, 1, 2, 3)))
                    orders.place_order(session, user["id"], order.id, address,
                                       now=ctx.clock.now)
                    ctx.count("orders_placed")
                    if rng.random() < 0.06:
                        orders.cancel_by_buyer(session, user["id"], order.id, "changed my mind",
                                               now=ctx.clock.now)
                        ctx.count("orders_canceled")
                        continue
                    card = state["cards"].get(user["id"])
                    if card is None:
                        card = payments.add_card(session, user["id"], GOOD_CARD, 12, 2030).id
                        session.commit()
                        state["cards"][user["id"]] = card
                    orders.pay_order(session, user["id"], order.id, now=ctx.clock.now,
                                     payment_method_id=card)
                    state["open"].append((order.id, user["id"], owner))
                    ctx.count("orders_paid")
                except AppError:
                    session.rollback()
                    ctx.count("orders_refused")

    def _progress(self, ctx, day: date, state: dict) -> None:
        """Orders paid on earlier days move on: fulfilled, delivered, sometimes returned."""
        from api.goseller import orders
        from api.goseller.models import Order

        rng = ctx.rng
        still_open = []
        for order_id, buyer, owner in state["open"]:
            now = ctx.at(day, ctx.daytime())
            with ctx.session() as session:
                try:
                    status = session.get(Order, order_id).status
                    roll = rng.random()
                    if status == "paid" and roll < 0.04:
                        orders.cancel_by_seller(session, owner, order_id, "out of stock", now=now)
                        ctx.count("orders_canceled")
                        continue
                    if status == "paid" and roll < 0.8:
                        orders.fulfill_order(session, owner, order_id, now=now)
                    elif status == "fulfilled" and roll < 0.6:
                        orders.deliver_order(session, owner, order_id, now=now)
                        ctx.count("orders_delivered")
                    elif status == "delivered":
                        if roll < RETURN_PER_DAY:
                            orders.return_order(session, buyer, order_id, "not as described",
                                                now=now)
                            ctx.count("orders_returned")
                            continue
                        deadline = session.get(Order, order_id).return_deadline
                        if now > deadline - timedelta(days=1):
                            continue  # window (nearly) over: payouts take it from here
                    still_open.append((order_id, buyer, owner))
                except AppError:
                    session.rollback()
                    ctx.count("orders_refused")
        state["open"] = still_open


ACTIVITY = OrdersActivity()
