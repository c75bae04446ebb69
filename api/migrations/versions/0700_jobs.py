"""jobs: procrastinate's schema (tables procrastinate_*), as shipped with the installed package

Revision ID: 0700_jobs
Revises:
Create Date: 2026-11-25
"""
from __future__ import annotations

from alembic import op

revision = "0700_jobs"
down_revision = None
branch_labels = ("jobs",)
depends_on = "0001_core"

# A later procrastinate upgrade ships SQL under procrastinate/sql/migrations: apply those files
# in a new revision of this branch (down_revision="0700_jobs").
DROP = """
DROP TABLE IF EXISTS procrastinate_periodic_defers, procrastinate_events, procrastinate_jobs,
    procrastinate_workers CASCADE;
DO $$
DECLARE f record;
BEGIN
  FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
  LOOP
    EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE';
  END LOOP;
END $$;
DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type,
    procrastinate_job_status CASCADE;
"""


def _raw_execute(sql: str) -> None:
    # The schema holds many statements and literal '%': run it on the driver connection,
    # without parameters, inside Alembic's transaction.
    op.get_bind().connection.driver_connection.execute(sql)


def upgrade() -> None:
    from procrastinate.schema import SchemaManager

    _raw_execute(SchemaManager.get_schema())


def downgrade() -> None:
    _raw_execute(DROP)
