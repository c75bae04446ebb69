"""A snapshot with the contract's marts, generated in DuckDB SQL: the fixture of the tests and
the big warehouse of `ehb bench dash`. Written to a temporary file, then renamed into place
the way the data side publishes, so a reader never sees a half-written file."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb


def build_sample_snapshot(path: Path | str, users: int = 300, days: int = 120,
                          events_per_day: int = 40, today: date | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    today = today or date.today()
    p = {"users": users, "days": days, "today": today, "epd": events_per_day}
    con = duckdb.connect(str(tmp))
    try:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA ops")
        con.execute("""
            CREATE TABLE marts.dim_users AS
            SELECT i::BIGINT AS user_id,
                   ['example.com','mail.test','corp.test'][1 + i % 3] AS email_domain,
                   'User ' || i AS display_name,
                   CASE WHEN i % 50 = 1 THEN ['admin'] WHEN i % 10 = 2 THEN ['seller','customer']
                        WHEN i % 10 = 3 THEN ['affiliate'] ELSE ['customer'] END::VARCHAR[] AS roles,
                   CASE WHEN i % 50 = 1 THEN 'admin' WHEN i % 10 = 2 THEN 'seller'
                        WHEN i % 10 = 3 THEN 'affiliate' ELSE 'customer' END AS primary_role,
                   i % 17 <> 0 AS is_active, i % 4 <> 0 AS is_email_verified,
                   i % 5 = 0 AS is_mfa_enabled,
                   (CAST($today AS DATE) - CAST(i % $days AS INTEGER))::TIMESTAMPTZ
                       + INTERVAL 1 HOUR * (i % 24) AS signed_up_at,
                   CAST($today AS DATE) - CAST(i % $days AS INTEGER) AS signup_date,
                   date_trunc('week', CAST($today AS DATE) - CAST(i % $days AS INTEGER))::DATE
                       AS cohort_week,
                   (i % 7)::BIGINT AS sessions_started,
                   CASE WHEN i % 7 = 0 THEN NULL ELSE
                       (CAST($today AS DATE) - CAST((i * 7) % $days AS INTEGER))::TIMESTAMPTZ
                   END AS last_session_at,
                   (i % 3)::BIGINT AS login_failures
            FROM range(1, $users + 1) t(i)""", {k: p[k] for k in ("today", "days", "users")})
        con.execute("""
            CREATE TABLE marts.fct_signups_daily AS
            SELECT signup_date, count(*)::BIGINT AS new_users,
                   count(*) FILTER (WHERE is_email_verified)::BIGINT AS verified_users,
                   sum(count(*)) OVER (ORDER BY signup_date)::BIGINT AS cumulative_users
            FROM marts.dim_users GROUP BY signup_date ORDER BY signup_date""")
        con.execute("""
            CREATE TABLE marts.user_retention_weekly AS
            SELECT c.cohort_week, w.week_number::INTEGER AS week_number,
                   c.cohort_size::BIGINT AS cohort_size,
                   (c.cohort_size * (1.0 / (1 + w.week_number)))::BIGINT AS active_users,
                   1.0 / (1 + w.week_number) AS retention_rate
            FROM (SELECT cohort_week, count(*) AS cohort_size FROM marts.dim_users GROUP BY 1) c,
                 range(0, 8) w(week_number)
            WHERE c.cohort_week + INTERVAL 7 DAY * w.week_number <= CAST($today AS DATE)""",
                    {"today": today})
        con.execute("""
            CREATE TABLE marts.fct_security_events_daily AS
            SELECT (CAST($today AS DATE) - CAST(d AS INTEGER)) AS event_date, t.event_type,
                   (($epd * t.w) + (d * 7 + length(t.event_type)) % 11)::BIGINT AS events,
                   (($epd * t.w) / 2 + d % 5)::BIGINT AS distinct_users,
                   (($epd * t.w) / 3 + d % 3)::BIGINT AS distinct_ips
            FROM range(0, $days) r(d),
                 (VALUES ('login_succeeded', 5), ('login_failed', 2), ('account_locked', 0.2),
                         ('token_reuse_detected', 0.1), ('password_reset', 0.5)) t(event_type, w)""",
                    {k: p[k] for k in ("today", "days", "epd")})
        con.execute("""
            CREATE TABLE marts.fct_login_failures_daily AS
            SELECT event_date,
                   sum(events) FILTER (WHERE event_type LIKE '%login%' AND event_type LIKE '%fail%')::BIGINT
                       AS login_failures,
                   coalesce(sum(events) FILTER (WHERE event_type LIKE '%lock%'), 0)::BIGINT AS lockouts,
                   max(distinct_users) FILTER (WHERE event_type = 'login_failed')::BIGINT AS distinct_accounts,
                   max(distinct_ips) FILTER (WHERE event_type = 'login_failed')::BIGINT AS distinct_ips,
                   (sum(events) FILTER (WHERE event_type = 'login_failed'))::DOUBLE
                       / sum(events) FILTER (WHERE event_type LIKE '%login%') AS failure_share
            FROM marts.fct_security_events_daily GROUP BY event_date ORDER BY event_date""")
        con.execute("""
            CREATE TABLE marts.security_throttles AS
            SELECT CASE WHEN i % 2 = 0 THEN 'account:user' || i || '@example.com'
                        ELSE 'client:10.0.' || (i // 256) || '.' || (i % 256) END AS throttle_key,
                   CASE WHEN i % 2 = 0 THEN 'account' ELSE 'client' END AS key_kind,
                   (1 + i % 9)::BIGINT AS failures,
                   CAST($today AS DATE)::TIMESTAMPTZ - INTERVAL 1 HOUR * i AS last_failure_at,
                   CASE WHEN i % 9 >= 4 THEN CAST($today AS DATE)::TIMESTAMPTZ
                        + INTERVAL 15 MINUTE * (i % 9) END AS blocked_until
            FROM range(1, greatest($users // 5, 10) + 1) t(i)""",
                    {"today": today, "users": users})
        # Finance: three currencies; refunds and fees a share of captures.
        con.execute("""
            CREATE TABLE marts.fct_payments_daily AS
            SELECT CAST($today AS DATE) - CAST(d AS INTEGER) AS payment_date, c.currency,
                   (c.w * (40 + (d * 13) % 17))::BIGINT AS intents,
                   (c.w * (36 + (d * 13) % 17))::BIGINT AS succeeded,
                   (c.w * (1 + d % 4))::BIGINT AS failed,
                   (c.w * (120000 + (d * 7919) % 50000))::BIGINT AS topup_captured,
                   (c.w * (300000 + (d * 104729) % 200000))::BIGINT AS purchase_captured,
                   (c.w * (9000 + (d * 31) % 7000))::BIGINT AS refunded,
                   (c.w * (9000 + (d * 104729) % 200000) // 33)::BIGINT AS fees
            FROM range(0, $days) r(d), (VALUES ('EUR', 5), ('USD', 3), ('GBP', 1)) c(currency, w)
            ORDER BY 1, 2""", {"today": today, "days": days})
        con.execute("""
            CREATE TABLE marts.fct_ledger_daily AS
            SELECT payment_date AS ledger_date, currency,
                   (succeeded * 3)::BIGINT AS transactions,
                   (topup_captured + purchase_captured + refunded)::BIGINT AS volume,
                   (purchase_captured // 2)::BIGINT AS transfer_volume,
                   0::BIGINT AS unbalanced_transactions
            FROM marts.fct_payments_daily ORDER BY 1, 2""")
        con.execute("""
            CREATE TABLE marts.wallet_balances AS
            SELECT i::BIGINT AS account_id,
                   CASE WHEN i <= $users THEN i END::BIGINT AS user_id,
                   CASE WHEN i <= $users THEN 'user' WHEN i % 3 = 0 THEN 'hold'
                        WHEN i % 3 = 1 THEN 'vault' ELSE 'system' END AS kind,
                   ['EUR', 'USD', 'GBP'][1 + (i // 3) % 3] AS currency,
                   ((i * 7919) % 100000)::BIGINT AS balance,
                   ((i * 7919) % 100000 - CASE WHEN i % 97 = 0 THEN 100 ELSE 0 END)::BIGINT
                       AS ledger_balance,
                   (1 + i % 40)::BIGINT AS entries,
                   i % 97 <> 0 AS is_reconciled
            FROM range(1, $users + 31) t(i)""", {"users": users})
        # Support: the most recent days still have tickets pending (neither met nor breached).
        con.execute("""
            CREATE TABLE marts.fct_support_daily AS
            WITH base AS (
                SELECT CAST($today AS DATE) - CAST(d AS INTEGER) AS day, d,
                       (6 + (d * 7) % 11)::BIGINT AS opened,
                       (5 + (d * 5) % 9)::BIGINT AS resolved
                FROM range(0, $days) r(d))
            SELECT day, opened, resolved,
                   (20 + sum(opened - resolved) OVER (ORDER BY day))::BIGINT AS backlog,
                   (opened - (d % 4 = 0)::INTEGER * 2 - CASE WHEN d < 1 THEN 2 ELSE 0 END)::BIGINT
                       AS first_response_met,
                   ((d % 4 = 0)::INTEGER * 2)::BIGINT AS first_response_breached,
                   (CASE WHEN d < 3 THEN opened // 2 ELSE opened - (d % 3 = 0)::INTEGER * 3 END)::BIGINT
                       AS resolution_met,
                   (CASE WHEN d < 3 THEN 0 ELSE (d % 3 = 0)::INTEGER * 3 END)::BIGINT
                       AS resolution_breached
            FROM base ORDER BY day""", {"today": today, "days": days})
        con.execute("""
            CREATE TABLE marts.fct_csat_daily AS
            SELECT CAST($today AS DATE) - CAST(d AS INTEGER) AS rating_date,
                   (3 + d % 6)::BIGINT AS responses,
                   (3.4 + (d % 10) * 0.15)::DOUBLE AS avg_rating,
                   (0.55 + (d % 7) * 0.06)::DOUBLE AS csat
            FROM range(0, $days) r(d) WHERE d % 9 <> 5""", {"today": today, "days": days})
        # Marketplace: 12 sellers (the seller users of dim_users), two currencies.
        con.execute("""
            CREATE TABLE marts.seller_performance AS
            SELECT s::BIGINT AS seller_id, (2 + 10 * (s - 1))::BIGINT AS seller_user_id,
                   'Shop ' || s AS shop_name,
                   ['verified', 'verified', 'pending', 'suspended'][1 + s % 4] AS seller_status,
                   c.currency, (c.w * (50 + s * 7))::BIGINT AS orders_placed,
                   (c.w * (45 + s * 6))::BIGINT AS orders_paid,
                   (c.w * (38 + s * 5))::BIGINT AS orders_delivered,
                   (c.w * (3 + s % 4))::BIGINT AS orders_canceled,
                   (c.w * (1 + s % 3))::BIGINT AS orders_returned,
                   (c.w * (45 + s * 6) * (2500 + s * 137))::BIGINT AS gmv_minor,
                   (c.w * (45 + s * 6) * (2500 + s * 137) // 20)::BIGINT AS platform_fees_minor,
                   (c.w * (1 + s % 3) * (2500 + s * 137))::BIGINT AS refunded_minor,
                   (c.w * (40 + s * 5) * (2500 + s * 137) * 19 // 20)::BIGINT AS paid_out_minor,
                   (1 + s % 3)::DOUBLE / (45 + s * 6) AS return_rate
            FROM range(1, 13) t(s), (VALUES ('EUR', 2), ('USD', 1)) c(currency, w)
            ORDER BY 1, 5""")
        con.execute("""
            CREATE TABLE marts.fct_orders_daily AS
            SELECT CAST($today AS DATE) - CAST(d AS INTEGER) AS order_date, c.currency,
                   s::BIGINT AS seller_id, (2 + 10 * (s - 1))::BIGINT AS seller_user_id,
                   (c.w * (3 + (d + s) % 5))::BIGINT AS orders_placed,
                   (c.w * (2 + (d + s) % 5))::BIGINT AS orders_paid,
                   ((d + s) % 7 = 0)::BIGINT AS orders_canceled,
                   ((d * s) % 11 = 0)::BIGINT AS orders_returned,
                   (c.w * (2 + (d + s) % 5) * (2500 + s * 137))::BIGINT AS gmv_minor,
                   (c.w * (2 + (d + s) % 5) * (2500 + s * 137) // 20)::BIGINT
                       AS platform_fees_minor,
                   (((d + s) % 7 = 0)::INTEGER * (2500 + s * 137))::BIGINT AS refunded_minor
            FROM range(0, $days) r(d), range(1, 13) t(s),
                 (VALUES ('EUR', 2), ('USD', 1)) c(currency, w)
            WHERE (d + s) % 4 <> 0
            ORDER BY 1, 2, 3""", {"today": today, "days": days})
        # Affiliates: 8 affiliates (the affiliate users of dim_users).
        con.execute("""
            CREATE TABLE marts.fct_affiliate_commissions_daily AS
            SELECT CAST($today AS DATE) - CAST(d AS INTEGER) AS commission_date,
                   a::BIGINT AS affiliate_id, (3 + 10 * (a - 1))::BIGINT AS affiliate_user_id,
                   'EUR' AS currency, st.status,
                   (st.w * (1 + (d + a) % 3))::BIGINT AS commissions,
                   (st.w * (1 + (d + a) % 3) * (4000 + a * 211))::BIGINT AS order_amount_minor,
                   (st.w * (1 + (d + a) % 3) * (4000 + a * 211) * (3 + a % 4) // 100)::BIGINT
                       AS commission_minor
            FROM range(0, $days) r(d), range(1, 9) t(a),
                 (VALUES ('pending', 1), ('approved', 2), ('reversed', 1), ('paid', 3))
                     st(status, w)
            WHERE (d + a + length(st.status)) % 3 <> 0
            ORDER BY 1, 2, 5""", {"today": today, "days": days})
        con.execute("""
            CREATE TABLE marts.affiliate_conversions AS
            SELECT a::BIGINT AS affiliate_id, (3 + 10 * (a - 1))::BIGINT AS affiliate_user_id,
                   ['approved', 'approved', 'pending', 'suspended'][1 + a % 4] AS affiliate_status,
                   (20 + a * 9)::BIGINT AS referrals, (5 + a * 3)::BIGINT AS converted_referrals,
                   (8 + a * 5)::BIGINT AS commissioned_orders,
                   (5 + a * 3)::DOUBLE / (20 + a * 9) AS conversion_rate
            FROM range(1, 9) t(a) ORDER BY 1""")
        # Franchises: 4 franchises with two territories each, monthly revenue and settlements.
        con.execute("""
            CREATE TABLE marts.fct_territory_revenue_monthly AS
            SELECT f::BIGINT AS franchise_id, (4 + 10 * (f - 1))::BIGINT AS franchisee_user_id,
                   (10 * f + k)::BIGINT AS territory_id,
                   date_trunc('month', CAST($today AS DATE) - INTERVAL 1 MONTH * m)::DATE
                       AS revenue_month,
                   'EUR' AS currency, (20 + f * 4 + k * 3 + m)::BIGINT AS orders,
                   ((20 + f * 4 + k * 3 + m) * 3100)::BIGINT AS gross_minor,
                   ((20 + f * 4 + k * 3 + m) * 2945)::BIGINT AS net_minor,
                   ((20 + f * 4 + k * 3 + m) * 2945 * 1000 // 10000)::BIGINT AS share_minor
            FROM range(1, 5) t(f), range(1, 3) u(k), range(0, 5) mm(m)
            ORDER BY 1, 3, 4""", {"today": today})
        con.execute("""
            CREATE TABLE marts.franchise_settlements AS
            SELECT row_number() OVER (ORDER BY franchise_id, revenue_month)::BIGINT
                       AS settlement_id,
                   franchise_id, franchisee_user_id, revenue_month AS period_start, currency,
                   'net' AS share_basis, 1000::BIGINT AS share_bps,
                   CASE WHEN revenue_month = max(revenue_month) OVER () THEN 'awaiting_ledger'
                        ELSE 'posted' END AS status,
                   sum(orders)::BIGINT AS order_count, sum(gross_minor)::BIGINT AS gross_minor,
                   sum(net_minor)::BIGINT AS net_minor, sum(share_minor)::BIGINT AS share_minor,
                   CASE WHEN revenue_month < max(revenue_month) OVER () THEN
                       (revenue_month + INTERVAL 1 MONTH + INTERVAL 2 DAY)::TIMESTAMPTZ END
                       AS posted_at,
                   true AS is_reconciled
            FROM marts.fct_territory_revenue_monthly
            WHERE revenue_month < date_trunc('month', CAST($today AS DATE))
            GROUP BY franchise_id, franchisee_user_id, revenue_month, currency
            ORDER BY 1""", {"today": today})
        con.execute("""
            CREATE TABLE ops.quarantine AS
            SELECT 'run-' || (i % 6) AS batch_id,
                   ['users','security_events','refresh_tokens'][1 + i % 3] AS table_name,
                   CAST(i AS VARCHAR) AS row_pk,
                   ['expect_column_values_to_not_be_null(email)',
                    'expect_column_values_to_be_unique(id)'][1 + i % 2] AS expectation,
                   '{"id": ' || i || '}' AS row_json,
                   CAST($today AS DATE)::TIMESTAMPTZ - INTERVAL 3 HOUR * i AS quarantined_at,
                   -- one record in three released by a later batch, as the pipeline records it
                   CASE WHEN i % 3 = 0 THEN CAST($today AS DATE)::TIMESTAMPTZ
                        - INTERVAL 3 HOUR * i + INTERVAL 2 HOUR END AS released_at,
                   CASE WHEN i % 3 = 0 THEN 'passed' END AS release_reason,
                   CASE WHEN i % 3 = 0 THEN 'run-' || ((i + 1) % 6) END AS released_by_batch
            FROM range(1, 61) t(i)""", {"today": today})
        from dashboards.sample_fraud import add_fraud_marts

        add_fraud_marts(con, users, days, today)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, path)
    return path
