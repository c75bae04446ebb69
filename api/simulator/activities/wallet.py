"""Money through api.payments.service and api.wallet.service: customers top up their wallet by
card (some cards decline: fraud attempts and empty cards), pay sellers from the wallet (fees
go to the platform), send each other money, and some payments are partly refunded."""

from __future__ import annotations

import importlib.util
from datetime import date

from api.core.errors import AppError

CURRENCY = "EUR"
GOOD_CARD = "4242424242424242"
BAD_CARDS = ("4000000000000002", "4000000000009995")


class WalletActivity:
    name = "wallet"

    def available(self) -> bool:
        return all(importlib.util.find_spec(m) is not None
                   for m in ("api.payments.service", "api.wallet.service"))

    def day(self, ctx, index: int, day: date) -> None:
        from api.payments import service as payments
        from api.wallet import service as wallet

        rng = ctx.rng
        state = ctx.__dict__.setdefault("wallet", {"cards": {}, "wallets": set(), "paid": []})
        sellers = [u for u in ctx.users if "seller" in u["roles"]]
        customers = [u for u in ctx.users if u["roles"] == frozenset({"customer"})]
        for user in customers:
            if rng.random() >= 0.035:
                continue
            ctx.at(day, ctx.daytime())
            with ctx.session() as session:
                try:
                    if user["id"] not in state["wallets"]:
                        wallet.open_wallet(session, user["id"], CURRENCY)
                        session.commit()
                        state["wallets"].add(user["id"])
                    fraud = rng.random() < 0.03
                    card = state["cards"].get(user["id"])
                    if card is None or fraud:
                        number = rng.choice(BAD_CARDS) if fraud else GOOD_CARD
                        card = payments.add_card(session, user["id"], number, 12, 2030).id
                        if not fraud:
                            state["cards"][user["id"]] = card
                    amount = rng.choice((1000, 2000, 2500, 5000, 10000))
                    intent = payments.create_intent(session, user_id=user["id"], amount=amount,
                                                    currency=CURRENCY, description="top-up")
                    payments.confirm(session, intent, card)
                    session.commit()
                    ctx.count("topups" if intent.status == "succeeded" else "topups_declined")
                except AppError:
                    session.rollback()
                    ctx.count("wallet_refused")
        funded = [u for u in customers if u["id"] in state["wallets"]]
        for user in funded:
            if rng.random() >= 0.15:
                continue
            ctx.at(day, ctx.daytime())
            with ctx.session() as session:
                try:
                    if sellers and rng.random() < 0.7:  # a purchase from a (heavy-tailed) seller
                        seller = sellers[min(int(rng.paretovariate(1.2)) - 1, len(sellers) - 1)]
                        if seller["id"] not in state["wallets"]:
                            wallet.open_wallet(session, seller["id"], CURRENCY)
                            session.commit()
                            state["wallets"].add(seller["id"])
                        method = payments.add_wallet_method(session, user["id"]).id \
                            if "wallet_method" not in user else user["wallet_method"]
                        user["wallet_method"] = method
                        intent = payments.create_intent(
                            session, user_id=user["id"], payee_user_id=seller["id"],
                            amount=rng.choice((500, 900, 1500, 2400, 4200)), currency=CURRENCY,
                            description="purchase")
                        payments.confirm(session, intent, method)
                        session.commit()
                        ctx.count("payments")
                        if rng.random() < 0.08:
                            payments.refund(session, intent, intent.amount // 2, reason="damaged")
                            session.commit()
                            ctx.count("refunds")
                    else:
                        other = rng.choice(funded)
                        if other["id"] == user["id"]:
                            continue
                        wallet.transfer(session, from_user_id=user["id"], to_user_id=other["id"],
                                        amount=rng.choice((200, 500, 1000)), currency=CURRENCY)
                        session.commit()
                        ctx.count("transfers")
                except AppError:
                    session.rollback()
                    ctx.count("wallet_refused")


ACTIVITY = WalletActivity()
