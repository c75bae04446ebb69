"""`Annotated` dependency aliases routers use: SessionDep, SettingsDep."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from api.db import new_session
from api.settings import Settings, get_settings


def get_db() -> Iterator[Session]:
    # Writing service functions commit their own unit of work; anything left open is rolled back.
    with new_session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
