"""`Annotated` dependency aliases routers use: SessionDep, SettingsDep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.db import new_session
from api.settings import Settings, get_settings


async def get_db() -> AsyncIterator[Session]:
    # Writing service functions commit their own unit of work; anything left open is rolled back.
    # Opening a session does no I/O, and closing one with no open transaction does none either,
    # so both run on the event loop: a sync generator cost two threadpool hops per request.
    # Only a close that must roll back (a round trip) goes to the threadpool.
    session = new_session()
    try:
        yield session
    finally:
        if session.in_transaction():
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
