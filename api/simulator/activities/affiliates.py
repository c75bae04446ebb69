"""Affiliates through api.affiliates.service: users with the affiliate role register (a support
agent approves most, rejects a few); the commission rules are created once (a `*` default and a
`books` rule with a volume tier); a share of new customers sign up with an approved affiliate's
code (users.py calls `attribute_signup` in the sign-up's unit of work, see `referral_code`);
every day commissions past the return window are approved and approved ones paid, as the
scheduled job does. Every time is the simulated clock's."""

from __future__ import annotations

import importlib.util
from datetime import date

from api.core.errors import AppError, Conflict

CURRENCY = "EUR"
RULES = (("*", 0, 500), ("books", 0, 800), ("books", 20_000, 1_200))  # category, tier, bps
REFERRED_SHARE = 0.3  # of new customers, once an approved affiliate exists


def referral_code(ctx) -> str | None:
    """For users.py: an approved affiliate's code for this sign-up, or None."""
    codes = ctx.__dict__.get("affiliates", {}).get("codes")
    if not codes or ctx.rng.random() >= REFERRED_SHARE:
        return None
    return codes[min(int(ctx.rng.paretovariate(1.5)) - 1, len(codes) - 1)]  # a few earn most


class AffiliatesActivity:
    name = "affiliates"

    def available(self) -> bool:
        return all(importlib.util.find_spec(m) is not None
                   for m in ("api.affiliates.service", "api.goseller.orders"))

    def day(self, ctx, index: int, day: date) -> None:
        from api.affiliates import service
        from api.wallet import service as wallet

        rng = ctx.rng
        state = ctx.__dict__.setdefault("affiliates", {"rules": False, "registered": {},
                                                       "codes": []})
        if not state["rules"]:
            ctx.at(day, 60)
            with ctx.session() as session:
                for category, tier, bps in RULES:
                    try:
                        service.create_rule(session, category=category, currency=CURRENCY,
                                            min_monthly_volume_minor=tier, rate_bps=bps)
                        ctx.count("commission_rules")
                    except Conflict:  # the platform already has this rule: keep it
                        session.rollback()
            state["rules"] = True
        agents = [u for u in ctx.users if "support" in u["roles"]]
        for user in ctx.users:
            if "affiliate" not in user["roles"] or user["id"] in state["registered"] \
                    or rng.random() >= 0.5:
                continue
            now = ctx.at(day, ctx.daytime())
            with ctx.session() as session:
                try:
                    affiliate = service.register_affiliate(
                        session, user["id"], website=f"https://blog{user['id']}.example.com")
                    wallet.open_wallet(session, user["id"], CURRENCY)  # commissions land here
                    session.commit()
                    state["registered"][user["id"]] = affiliate.id
                    ctx.count("affiliates")
                    if agents:
                        approve = rng.random() < 0.85
                        service.set_affiliate_status(
                            session, affiliate.id, "approved" if approve else "rejected",
                            rng.choice(agents)["id"],
                            reason=None if approve else "no audience", now=now)
                        if approve:
                            state["codes"].append(affiliate.code)
                            ctx.count("affiliates_approved")
                except AppError:
                    session.rollback()
                    ctx.count("affiliates_refused")
        now = ctx.at(day, 86_100)  # after the day's deliveries and payouts
        with ctx.session() as session:
            ctx.count("commissions_approved", service.approve_due(session, now=now))
            result = service.pay_approved(session, now=now)
            ctx.count("commissions_paid", result["paid"])


ACTIVITY = AffiliatesActivity()
