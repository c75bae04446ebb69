"""GoSeller order events → territory attribution (inside the order's transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.franchises import service
from api.goseller.models import Order


def on_order_event(session: Session, event: str, order: Order, now: datetime) -> None:
    if event == "placed":
        service.attribute_order(session, order)
