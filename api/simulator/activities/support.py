"""Complaints through api.complaints.service: customers open tickets, support agents answer
(mostly within the SLA, sometimes late) and resolve them, customers rate the outcome."""

from __future__ import annotations

import importlib.util
from datetime import date

from api.core.errors import AppError

SUBJECTS = {"order": "Order not as described", "payment": "Charged twice",
            "delivery": "Parcel is late", "refund": "Refund not received",
            "product": "Product question", "account": "Cannot change my email",
            "seller": "Seller does not answer", "other": "Something else"}
CATEGORY_WEIGHTS = (("delivery", 30), ("order", 20), ("payment", 15), ("refund", 12),
                    ("product", 10), ("account", 6), ("seller", 5), ("other", 2))


class SupportActivity:
    name = "support"

    def available(self) -> bool:
        return importlib.util.find_spec("api.complaints.service") is not None

    def day(self, ctx, index: int, day: date) -> None:
        from api.complaints import service

        rng = ctx.rng
        state = ctx.__dict__.setdefault("support_open", [])  # tickets awaiting an agent
        agents = [u for u in ctx.users if "support" in u["roles"]]
        for user in ctx.users:
            if user["roles"] == frozenset({"customer"}) and rng.random() < 0.006:
                category = rng.choices([c for c, _ in CATEGORY_WEIGHTS],
                                       weights=[w for _, w in CATEGORY_WEIGHTS])[0]
                priority = rng.choices(["low", "normal", "high", "urgent"], [20, 60, 15, 5])[0]
                now = ctx.at(day, ctx.daytime())
                with ctx.session() as session:
                    ticket = service.open_ticket(session, user["id"], subject=SUBJECTS[category],
                                                 body="Please help.", category=category,
                                                 priority=priority, now=now)
                state.append({"id": ticket.id, "customer": user, "day": index,
                              "answered": False})
                ctx.count("tickets")
        if not agents:
            return
        still_open = []
        for ticket in state:
            agent = rng.choice(agents)
            # staffing is thin at weekends: answers come later
            busy = 0.5 if day.weekday() >= 5 else 0.85
            with ctx.session() as session:
                try:
                    if not ticket["answered"] and rng.random() < busy:
                        now = ctx.at(day, min(86_000.0, ctx.daytime() + rng.expovariate(1 / 7200)))
                        service.reply(session, ticket["id"], agent["id"], agent["roles"],
                                      body="We are looking into it.", now=now)
                        ticket["answered"] = True
                        ctx.count("ticket_replies")
                    elif ticket["answered"] and rng.random() < 0.45:
                        now = ctx.at(day, ctx.daytime())
                        service.resolve(session, ticket["id"], agent["id"], agent["roles"],
                                        resolution="Resolved.", now=now)
                        ctx.count("tickets_resolved")
                        late = index - ticket["day"] > 2
                        if rng.random() < 0.6:
                            customer = ticket["customer"]
                            rating = max(1, min(5, round(rng.gauss(3.2 if late else 4.3, 0.9))))
                            service.give_feedback(session, ticket["id"], customer["id"],
                                                  customer["roles"], rating=rating)
                            ctx.count("ratings")
                        continue
                except AppError:
                    session.rollback()
                    ctx.count("support_refused")
                    continue
            still_open.append(ticket)
        ctx.__dict__["support_open"] = still_open


ACTIVITY = SupportActivity()
