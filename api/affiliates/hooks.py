"""GoSeller order events → commissions (inside the order's transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.affiliates import service
from api.goseller.models import Order


def on_order_event(session: Session, event: str, order: Order, now: datetime) -> None:
    if event == "paid":
        service.record_commission(session, order, now)
    elif event in ("canceled", "returned"):
        service.reverse_commission(session, order, now)
