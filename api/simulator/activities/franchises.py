"""Franchises through api.franchises.service: a support agent registers a franchise for each
user with the franchisee role, with exclusive territories over postal codes the orders module
ships to (orders.CITIES); every day the settlement job's logic runs: the latest month whose
return window has closed is settled and its statements posted. Simulated times throughout."""

from __future__ import annotations

import importlib.util
from datetime import date

from api.core.errors import AppError, Conflict
from api.simulator.activities.orders import CITIES

CURRENCY = "EUR"
COUNTRY = "DE"


def _previous_month(day: date) -> date:
    return date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


class FranchisesActivity:
    name = "franchises"

    def available(self) -> bool:
        return all(importlib.util.find_spec(m) is not None
                   for m in ("api.franchises.service", "api.goseller.orders"))

    def day(self, ctx, index: int, day: date) -> None:
        from api.franchises import service
        from api.wallet import service as wallet

        rng = ctx.rng
        state = ctx.__dict__.setdefault("franchises", {"owners": {}, "free": list(CITIES)})
        agents = [u for u in ctx.users if "support" in u["roles"]]
        for user in ctx.users:
            if "franchisee" not in user["roles"] or user["id"] in state["owners"] \
                    or not agents or not state["free"]:
                continue
            # two cities each, so even two franchises cover every address orders ship to
            cities, state["free"] = state["free"][:2], state["free"][2:]
            ctx.at(day, ctx.daytime())
            with ctx.session() as session:
                try:
                    franchise = service.register_franchise(
                        session, owner_user_id=user["id"],
                        name=f"{cities[0][0]} {ctx.seed}-{user['id']}",
                        share_basis=rng.choice(("gross", "net")),
                        share_bps=rng.choice((300, 500, 800)), actor_id=rng.choice(agents)["id"])
                    for city, postal in cities:
                        service.add_territory(session, franchise.id, name=f"{city} centre",
                                              country=COUNTRY, region=None, city=city,
                                              postal_codes=[postal], exclusive=True)
                    wallet.open_wallet(session, user["id"], CURRENCY)  # the share lands here
                    session.commit()
                    state["owners"][user["id"]] = franchise.id
                    ctx.count("franchises")
                except AppError:
                    session.rollback()
                    ctx.count("franchises_refused")
        if not state["owners"]:
            return
        now = ctx.at(day, 3 * 3600 + 1800)  # 03:30, as the job's schedule
        with ctx.session() as session:
            period = _previous_month(day)
            try:
                made = service.settle_month(session, period, now=now)
            except Conflict:  # early in the month: last month's return window is still open
                made = service.settle_month(session, _previous_month(period), now=now)
            ctx.count("settlements", len(made))
            service.post_awaiting(session, now=now)


ACTIVITY = FranchisesActivity()
