"""Order events other domains react to inside the same transaction (affiliate commissions,
franchise attribution, order messages in the notification outbox). Subscribers are named here so the coupling is visible in one place;
each exposes `on_order_event(session, event, order, now)` and must not commit."""

from __future__ import annotations

import importlib
from datetime import datetime

from sqlalchemy.orm import Session

from api.goseller.models import Order

EVENTS = ("placed", "paid", "canceled", "returned")
SUBSCRIBERS = ("api.affiliates.hooks", "api.franchises.hooks", "api.goseller.notify")


def emit(session: Session, event: str, order: Order, now: datetime) -> None:
    assert event in EVENTS, event
    for name in SUBSCRIBERS:
        importlib.import_module(name).on_order_event(session, event, order, now)
