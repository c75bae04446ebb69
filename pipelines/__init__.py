"""EHB-5 data platform: PostgreSQL -> raw (DuckDB) -> Great Expectations gate -> dbt marts ->
published read-only snapshot. Dagster definitions live in `pipelines.definitions`; nothing
here imports dagster, dbt or great_expectations at package import time."""
