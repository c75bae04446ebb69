-- Login failures and lockouts per UTC day. Incremental: only the days whose events changed are
-- recomputed (macros/incremental_by_key.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    on_schema_change='fail',
    unique_key='event_date',
    merge_clauses=ehb_merge_clauses('fct_login_failures_daily', ['event_date']),
    pre_hook="{{ ehb_track_changes(['event_date'], security_events__changed_rows(['event_date']), security_events__current_pks()) }}",
    post_hook="{{ ehb_save_state() }}",
) }}
with events as (
    select * from {{ ref('stg_ehb__security_events') }}
)
select
    event_date,
    count(*) filter (where is_login_failure) as login_failures,
    count(*) filter (where is_lockout) as lockouts,
    count(distinct email) filter (where is_login_failure) as distinct_accounts,
    count(distinct client_ip) filter (where is_login_failure) as distinct_ips,
    coalesce(
        count(*) filter (where is_login_failure)
        / nullif(count(*) filter (where is_login_event), 0)::double, 0) as failure_share
from events
{% if is_incremental() %}where {{ ehb_touched('events', ['event_date']) }}{% endif %}
group by 1
