"""GoSeller's scheduled work: seller payouts once return windows have ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.jobs.registry import periodic_hook


@periodic_hook("goseller.payouts", cron="*/10 * * * *", queue="payouts")
def payouts(session: Session, now: datetime) -> dict:
    from api.goseller.orders import run_payouts

    made = run_payouts(session, now=now)
    return {"payouts": len(made), "paid": sum(1 for p in made if p.status == "paid")}
