"""The one procrastinate App. Tasks register on it at import; the worker opens it with a pool
built from DATABASE_URL (psycopg 3). The API process never opens it: it defers jobs on the
SQLAlchemy session's own connection (see service.defer), so a job exists only if the
transaction that needed it commits."""

from __future__ import annotations

import procrastinate

from api.jobs.settings import get_jobs_settings

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(),
    import_paths=["api.jobs.tasks"],
)


def default_retry() -> procrastinate.RetryStrategy:
    s = get_jobs_settings()
    return procrastinate.RetryStrategy(max_attempts=s.retry_max_attempts,
                                       exponential_wait=s.retry_exponential_wait)


def conninfo(database_url: str) -> str:
    """psycopg wants a plain postgresql:// URL, not SQLAlchemy's dialect form."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url[len(prefix):]
    return database_url
