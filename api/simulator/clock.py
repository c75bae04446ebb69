"""The simulated clock: new rows get the simulated time as created_at / occurred_at."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm import Session

STAMPED = ("created_at", "occurred_at")


class SimClock:
    def __init__(self, start: datetime):
        self.now = start

    def attach(self, session: Session) -> Session:
        @event.listens_for(session, "before_flush")
        def _stamp(sess, _ctx, _instances):
            for obj in sess.new:
                for attr in STAMPED:
                    if hasattr(obj, attr) and getattr(obj, attr) is None:
                        setattr(obj, attr, self.now)

        return session
