"""Money through api.payments.service, api.wallet.service and api.trusty.service: customers top
up their wallet by card (some cards decline: fraud attempts and empty cards), pay sellers from
the wallet (fees go to the platform), send each other money through the fraud-checked transfer
(every one scored and recorded), and some payments are partly refunded.

Fraud shapes: now and then a customer tops up and sends a large sum to someone they never paid
(held for review: large against their history and a new counterparty), or a smaller one that
their multisig co-signer must approve; a few bad actors try sums they do not have
until the failed-attempts rule blocks them. Support reviews held transfers after a day or two
(most released, some refused); the last days' cases stay open in the queue."""

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
                   for m in ("api.payments.service", "api.wallet.service",
                             "api.trusty.service"))

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
                        _transfer(ctx, session, user, other, rng.choice((200, 500, 1000)))
                except AppError:
                    session.rollback()
                    ctx.count("wallet_refused")
        _fraud_day(ctx, day, funded, customers)


def _device(user: dict) -> tuple[str, str]:
    """A stable client IP and device per simulated user (documentation address range)."""
    uid = user["id"]
    return f"198.51.{uid // 250 % 250}.{uid % 250 + 1}", f"dev-{uid:06d}"


def _transfer(ctx, session, user: dict, other: dict, amount: int) -> int:
    """One fraud-checked transfer at the simulated time; committed whatever the verdict (a
    block is recorded). A refusal (no funds) is recorded as a failed attempt, as the API does."""
    from api.trusty import service as trusty

    ip, device = _device(user)
    try:
        status, _body = trusty.protected_transfer(
            session, user_id=user["id"], to_user_id=other["id"], amount=amount,
            currency=CURRENCY, client_ip=ip, device_id=device, now=ctx.clock.now)
        session.commit()
    except AppError:
        trusty.record_refusal(session, user_id=user["id"], to_user_id=other["id"],
                              amount=amount, currency=CURRENCY, client_ip=ip, device_id=device,
                              now=ctx.clock.now)
        ctx.count("transfers_refused")
        return 422
    ctx.count({201: "transfers", 202: "transfers_held", 403: "transfers_blocked"}.get(
        status, "transfers_other"))
    return status


def _multisig_transfer(ctx, session, user: dict, other: dict, amount: int,
                       cosigner: dict) -> None:
    """A transfer above the sender's multisig threshold waits for the co-signer's vote."""
    from api.trusty import service as trusty

    policy = trusty.policy_for(session, user["id"], CURRENCY)
    if policy is not None:  # the co-signer chosen the first time (changing it needs their vote)
        cosigner = {"id": trusty.approvers_of(session, policy.id)[0]}
    if cosigner["id"] in (user["id"], other["id"]):
        return
    if policy is None:
        try:
            trusty.set_policy(session, user_id=user["id"], currency=CURRENCY, threshold=50_000,
                              required=1, approver_ids=[cosigner["id"]])
        except AppError:
            session.rollback()
            return
    if _transfer(ctx, session, user, other, amount) != 202:
        return
    request_id = session.scalars(select_open_request(user["id"])).first()
    if request_id is None:
        return
    try:
        trusty.decide(session, request_id, cosigner["id"],
                      "approve" if ctx.rng.random() < 0.8 else "reject")
        session.commit()
        ctx.count("multisig_decided")
    except AppError:
        session.rollback()


def select_open_request(user_id: int):
    from sqlalchemy import select

    from api.trusty.models import ApprovalRequest

    return select(ApprovalRequest.id).where(ApprovalRequest.requester_id == user_id,
                                            ApprovalRequest.status == "pending") \
        .order_by(ApprovalRequest.id.desc())


def _fraud_day(ctx, day: date, funded: list[dict], customers: list[dict]) -> None:
    from api.payments import service as payments

    rng = ctx.rng
    state = ctx.__dict__["wallet"]
    if len(funded) < 3:
        return
    # A large sum to a new counterparty: held for review when it dwarfs the sender's history.
    for user in funded:
        if rng.random() >= 0.02:
            continue
        other = rng.choice(funded)
        card = state["cards"].get(user["id"])
        if other["id"] == user["id"] or card is None:
            continue
        cautious = rng.random() < 0.3  # has a co-signer for transfers of 50,000 or more
        amount = rng.choice((55_000, 60_000, 75_000) if cautious else (110_000, 150_000))
        ctx.at(day, ctx.daytime())
        with ctx.session() as session:
            try:
                intent = payments.create_intent(session, user_id=user["id"], amount=amount,
                                                currency=CURRENCY, description="top-up")
                payments.confirm(session, intent, card)
                session.commit()
            except AppError:
                session.rollback()
                continue
            if cautious:
                _multisig_transfer(ctx, session, user, other, amount, rng.choice(funded))
            else:
                _transfer(ctx, session, user, other, amount)
    # Bad actors: sums they do not have, a minute apart, until the rules block them.
    for user in funded:
        if "bad_actor" not in user:
            user["bad_actor"] = rng.random() < 0.05
        if not user["bad_actor"] or rng.random() >= 0.08:
            continue
        other = rng.choice(funded)
        if other["id"] == user["id"]:
            continue
        start = ctx.daytime()
        with ctx.session() as session:
            for attempt in range(5):
                ctx.at(day, min(start + 60 * attempt, 86_399.0))
                if _transfer(ctx, session, user, other, 1_000_000 + 10_000 * attempt) == 403:
                    break
    _review_cases(ctx, day)


def _review_cases(ctx, day: date) -> None:
    """Support works the queue: cases older than a day or two are released or refused."""
    from datetime import UTC, datetime, time, timedelta

    from sqlalchemy import select

    from api.trusty import service as trusty
    from api.trusty.models import FraudCase

    agents = [u for u in ctx.users if "support" in u["roles"]]
    if not agents:
        return
    cutoff = datetime.combine(day, time(), UTC) - timedelta(days=1 + ctx.rng.random())
    with ctx.session() as session:
        due = session.scalars(select(FraudCase.id).where(
            FraudCase.status == "open", FraudCase.created_at < cutoff)
            .order_by(FraudCase.id)).all()
        for case_id in due:
            approve = ctx.rng.random() < 0.7
            try:
                trusty.review_case(session, case_id, ctx.rng.choice(agents)["id"], approve,
                                   "checked with the customer" if approve else "not the owner")
                session.commit()
                ctx.count("fraud_cases_released" if approve else "fraud_cases_refused")
            except AppError:
                session.rollback()


ACTIVITY = WalletActivity()
