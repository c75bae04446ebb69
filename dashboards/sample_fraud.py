"""Sample rows for the fraud marts and the territory dimension (see dashboards.sample): fraud
decisions per day and their held and blocked transfers, built from one decision-level table so
the daily mart and the holds agree; franchise territories in a few countries."""

from __future__ import annotations

from datetime import date

import duckdb

RULES = "['none', 'amount_above_history', 'new_counterparty_large', 'failed_attempts', " \
        "'velocity_user']"


def add_fraud_marts(con: duckdb.DuckDBPyConnection, users: int, days: int, today: date) -> None:
    p = {"users": users, "days": days, "today": today}
    # One decision every ~20 minutes; every 9th is held for review, every 13th blocked, every
    # 31st held for multisig approval. Users are the customers of dim_users (i % 10 >= 4).
    con.execute(f"""
        CREATE TEMP TABLE _decisions AS
        SELECT i AS decision_id,
               CAST($today AS DATE)::TIMESTAMPTZ - INTERVAL 20 MINUTE * i AS decided_at,
               (10 * (i % greatest($users // 10, 1)) + 4 + i % 6)::BIGINT AS user_id,
               (10 * ((i + 7) % greatest($users // 10, 1)) + 5)::BIGINT AS to_user_id,
               CASE WHEN i % 5 = 0 THEN 'USD' ELSE 'EUR' END AS currency,
               CASE WHEN i % 13 = 0 THEN 'block' WHEN i % 9 = 0 THEN 'hold' ELSE 'pass' END
                   AS verdict,
               (CASE WHEN i % 13 = 0 OR i % 9 = 0 THEN 60000 + 1000 * (i % 40)
                     ELSE 200 + 100 * (i % 30) END)::BIGINT AS amount,
               (CASE WHEN i % 13 = 0 THEN 85 + i % 30 WHEN i % 9 = 0 THEN 40 + i % 35
                     ELSE (i % 4) * 10 END)::BIGINT AS score,
               {RULES}[1 + CASE WHEN i % 13 = 0 THEN 3 WHEN i % 9 = 0 THEN 1 + i % 2
                               WHEN i % 4 = 0 THEN 0 ELSE 1 + i % 4 END] AS top_rule
        FROM range(1, $days * 72) t(i)""", p)
    con.execute("""
        CREATE TABLE marts.fraud_holds AS
        SELECT decision_id::BIGINT AS decision_id, decided_at,
               CAST(decided_at AS DATE) AS decision_date, user_id, to_user_id, currency,
               amount AS amount_minor, score, verdict, top_rule,
               CASE verdict WHEN 'hold' THEN 'fraud_review' WHEN 'block' THEN 'blocked'
                    ELSE 'approval' END AS hold_kind,
               CASE WHEN verdict = 'hold' THEN (decision_id // 9)::BIGINT END AS case_id,
               CASE WHEN verdict = 'pass' THEN (decision_id // 31)::BIGINT END AS request_id,
               CASE WHEN verdict = 'block' THEN 'blocked'
                    WHEN decided_at > CAST($today AS DATE) - INTERVAL 2 DAY THEN
                        CASE verdict WHEN 'hold' THEN 'open' ELSE 'pending' END
                    WHEN verdict = 'hold' THEN
                        CASE WHEN decision_id % 4 = 0 THEN 'rejected' ELSE 'approved' END
                    ELSE 'executed' END AS status,
               verdict <> 'block' AND decided_at > CAST($today AS DATE) - INTERVAL 2 DAY
                   AS is_open,
               CASE WHEN verdict = 'hold' AND decided_at <= CAST($today AS DATE)
                    - INTERVAL 2 DAY THEN 2::BIGINT END AS reviewer_id,
               CASE WHEN verdict = 'hold' AND decided_at <= CAST($today AS DATE)
                    - INTERVAL 2 DAY THEN CASE WHEN decision_id % 4 = 0 THEN 'refused'
                    ELSE 'released' END END AS reviewer_outcome,
               CASE WHEN verdict = 'block' THEN 'refused'
                    WHEN decided_at > CAST($today AS DATE) - INTERVAL 2 DAY THEN 'held'
                    WHEN verdict = 'hold' AND decision_id % 4 = 0 THEN 'refused'
                    ELSE 'posted' END AS outcome,
               CASE WHEN verdict = 'block' THEN decided_at
                    WHEN decided_at <= CAST($today AS DATE) - INTERVAL 2 DAY
                        THEN decided_at + INTERVAL 30 HOUR END AS resolved_at,
               CASE WHEN verdict = 'block' THEN 0.0
                    WHEN decided_at <= CAST($today AS DATE) - INTERVAL 2 DAY THEN 30.0
                    ELSE round(date_diff('second', decided_at,
                                         CAST($today AS DATE)::TIMESTAMPTZ) / 3600.0, 2)
               END AS age_hours
        FROM _decisions WHERE verdict <> 'pass' OR decision_id % 31 = 0
        ORDER BY decision_id""", {"today": today})
    con.execute("""
        CREATE TABLE marts.fct_fraud_decisions_daily AS
        SELECT CAST(d.decided_at AS DATE) AS decision_date, d.currency, d.verdict,
               coalesce(h.outcome, 'posted') AS outcome, d.top_rule,
               count(*)::BIGINT AS decisions, sum(d.amount)::BIGINT AS amount_minor,
               count(DISTINCT d.user_id)::BIGINT AS distinct_users,
               sum(d.score)::BIGINT AS score_total, max(d.score)::BIGINT AS max_score
        FROM _decisions d LEFT JOIN marts.fraud_holds h USING (decision_id)
        GROUP BY ALL ORDER BY 1, 2, 3, 4, 5""")
    # Territories of the sample franchises (4 franchises x 2 territories, see sample.py).
    con.execute("""
        CREATE TABLE marts.dim_franchise_territories AS
        SELECT (10 * f + k)::BIGINT AS territory_id, f::BIGINT AS franchise_id,
               (4 + 10 * (f - 1))::BIGINT AS franchisee_user_id,
               'Franchise ' || f AS franchise_name, 'Territory ' || (10 * f + k) AS territory_name,
               ['DE', 'FR', 'NL', 'ES'][f] AS country, NULL::VARCHAR AS region,
               ['Berlin', 'Paris', 'Amsterdam', 'Madrid'][f] AS city, true AS exclusive,
               (3 + k)::BIGINT AS postal_codes
        FROM range(1, 5) t(f), range(1, 3) u(k) ORDER BY 1""")
