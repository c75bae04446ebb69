"""Migration helpers every domain uses for tables the warehouse ingests.

`track_table` installs two triggers: one keeps `updated_at` true on every UPDATE (even writes
that bypass the ORM), one records deleted primary keys in `ops_deleted_rows`, so incremental
ingestion can merge updates and propagate deletes.
"""

from __future__ import annotations

from alembic import op

CREATE_FUNCTIONS = """
CREATE OR REPLACE FUNCTION ehb_touch_updated_at() RETURNS trigger AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ehb_record_delete() RETURNS trigger AS $$
BEGIN
  INSERT INTO ops_deleted_rows (table_name, row_pk) VALUES (TG_TABLE_NAME, to_jsonb(OLD) -> TG_ARGV[0]);
  RETURN OLD;
END $$ LANGUAGE plpgsql;
"""

DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS ehb_record_delete();
DROP FUNCTION IF EXISTS ehb_touch_updated_at();
"""


def track_table(table: str, pk: str = "id", *, has_updated_at: bool = True) -> None:
    if has_updated_at:
        op.execute(
            f'CREATE TRIGGER "trg_{table}_touch" BEFORE UPDATE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION ehb_touch_updated_at()"
        )
    op.execute(
        f'CREATE TRIGGER "trg_{table}_deleted" AFTER DELETE ON "{table}" '
        f"FOR EACH ROW EXECUTE FUNCTION ehb_record_delete('{pk}')"
    )


def untrack_table(table: str) -> None:
    op.execute(f'DROP TRIGGER IF EXISTS "trg_{table}_touch" ON "{table}"')
    op.execute(f'DROP TRIGGER IF EXISTS "trg_{table}_deleted" ON "{table}"')
