"""A small asyncio pool of psycopg connections (autocommit) for hot routes whose database work
is one statement: no threadpool hop, no ORM session, no SQLAlchemy result machinery.

The app's lifespan opens one pool per serving event loop and closes it at shutdown. A request
served on a loop without one (a test client used without its lifespan) gets None from
`pool_for` and takes the route's ordinary sync path instead."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
import psycopg
from psycopg.pq import TransactionStatus
from psycopg.types.json import set_json_loads
from sqlalchemy.engine import make_url
from starlette.types import ASGIApp

from api.db import PING_IF_IDLE_SECONDS


class AsyncPool:
    def __init__(self, conninfo: str, size: int):
        self._conninfo = conninfo
        self._idle: list[tuple[psycopg.AsyncConnection, float]] = []
        self._slots = asyncio.Semaphore(size)
        self._closed = False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        async with self._slots:
            conn = await self._checkout()
            try:
                yield conn
            finally:
                if (self._closed or conn.closed
                        or conn.info.transaction_status != TransactionStatus.IDLE):
                    await conn.close()
                else:
                    self._idle.append((conn, time.monotonic()))

    async def _checkout(self) -> psycopg.AsyncConnection:
        while self._idle:
            conn, idle_since = self._idle.pop()
            if time.monotonic() - idle_since < PING_IF_IDLE_SECONDS:
                return conn
            try:  # idle a while: the server may have gone away meanwhile (as api.db pings)
                await conn.execute("SELECT 1")
                return conn
            except psycopg.Error:
                await conn.close()
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        set_json_loads(orjson.loads, conn)  # jsonb results (the hot routes answer with them)
        return conn

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            await conn.close()


def conninfo(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


def pool_for(app: ASGIApp) -> AsyncPool | None:
    pools = getattr(app.state, "async_pools", None)
    return pools.get(asyncio.get_running_loop()) if pools else None


@asynccontextmanager
async def pool_lifespan(app, sqlalchemy_url: str, size: int) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    pools = app.state.async_pools
    pools[loop] = AsyncPool(conninfo(sqlalchemy_url), size)
    try:
        yield
    finally:
        await pools.pop(loop).close()
