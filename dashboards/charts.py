"""Charts a user can put on a saved custom dashboard: each an aggregate over one mart, with
the global filters applied. Light (no Dash import): the analytics API validates saved chart
keys against this list."""

from __future__ import annotations

from dataclasses import dataclass

from dashboards import filters as flt
from dashboards.catalog import mart


@dataclass(frozen=True)
class ChartSpec:
    key: str
    title: str
    mart: str
    select: str  # SELECT list and GROUP BY, over {mart} WHERE {where}
    kind: str    # bar | line
    x: str
    y: tuple[str, ...]

    def sql(self, f: flt.Filters) -> tuple[str, dict]:
        where, params = flt.where(mart(self.mart), f)
        return self.select.format(mart=self.mart, where=where), params


CHARTS: dict[str, ChartSpec] = {c.key: c for c in [
    ChartSpec("signups_daily", "Sign-ups per day", "marts.fct_signups_daily",
              "SELECT signup_date, new_users, verified_users FROM {mart} WHERE {where} "
              "ORDER BY 1", "bar", "signup_date", ("new_users", "verified_users")),
    ChartSpec("users_by_role", "Users by primary role", "marts.dim_users",
              "SELECT primary_role, count(*) AS users FROM {mart} WHERE {where} GROUP BY 1 "
              "ORDER BY 2 DESC", "bar", "primary_role", ("users",)),
    ChartSpec("login_failures_daily", "Login failures and lockouts", "marts.fct_login_failures_daily",
              "SELECT event_date, login_failures, lockouts FROM {mart} WHERE {where} ORDER BY 1",
              "line", "event_date", ("login_failures", "lockouts")),
    ChartSpec("security_events_by_type", "Security events by type",
              "marts.fct_security_events_daily",
              "SELECT event_type, sum(events) AS events FROM {mart} WHERE {where} GROUP BY 1 "
              "ORDER BY 2 DESC", "bar", "event_type", ("events",)),
    ChartSpec("quarantine_by_table", "Quarantined rows by table: open and released",
              "ops.quarantine",
              "SELECT table_name, count(*) FILTER (WHERE released_at IS NULL) AS open, "
              "count(*) FILTER (WHERE released_at IS NOT NULL) AS released FROM {mart} "
              "WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 3 DESC", "bar", "table_name",
              ("open", "released")),
]}
