"""The Dagster resource for the DuckDB build file and the PostgreSQL source.

One env var, EHB_WAREHOUSE_DIR, names the folder for the Dagster resource, dbt's profiles.yml
and the snapshot readers. Connections are opened per step and closed at once: DuckDB allows a
single writer process, and dbt (a subprocess) needs the file when ingestion is done.
"""


import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from pipelines import snapshot
from pipelines.tables import TABLES


class Warehouse(dg.ConfigurableResource):
    warehouse_dir: str = ""   # empty: EHB_WAREHOUSE_DIR or data/warehouse
    database_url: str = ""    # empty: DATABASE_URL from the platform settings

    def dir(self) -> Path:
        path = Path(self.warehouse_dir).resolve() if self.warehouse_dir else snapshot.warehouse_dir()
        path.mkdir(parents=True, exist_ok=True)
        os.environ[snapshot.ENV_DIR] = str(path)  # dbt's profiles.yml reads the same variable
        return path

    def build_file(self) -> Path:
        return self.dir() / snapshot.BUILD_NAME

    def source_url(self) -> str:
        if self.database_url:
            return self.database_url
        from api.settings import get_settings

        return get_settings().sqlalchemy_url

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(str(self.build_file()))
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET preserve_insertion_order = false")  # faster, leaner bulk inserts
            con.execute("SET memory_limit = '512MB'")  # bounded whatever the table size
            yield con
        finally:
            con.close()

    def blocked_tables(self) -> list[str]:
        """Raw tables with quarantined rows still present: their downstream models must not build."""
        from pipelines.validate import open_quarantine

        if not self.build_file().exists():
            return []
        with self.connect() as con:
            from pipelines.ingest import ensure_ops

            ensure_ops(con)
            present = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'"
            ).fetchall()}
            return [t.name for t in TABLES if t.name in present and open_quarantine(con, t) > 0]
