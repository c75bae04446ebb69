-- Security events per UTC day and type. Incremental: only the (day, type) keys whose events
-- changed are recomputed (macros/incremental_by_key.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    on_schema_change='fail',
    unique_key=['event_date', 'event_type'],
    merge_clauses=ehb_merge_clauses('fct_security_events_daily', ['event_date', 'event_type']),
    pre_hook="{{ ehb_track_changes(['event_date', 'event_type'], security_events__changed_rows(['event_date', 'event_type']), security_events__current_pks()) }}",
    post_hook="{{ ehb_save_state() }}",
) }}
with events as (
    select * from {{ ref('stg_ehb__security_events') }}
)
select
    event_date,
    event_type,
    count(*) as events,
    count(distinct user_id) as distinct_users,
    count(distinct client_ip) as distinct_ips
from events
{% if is_incremental() %}where {{ ehb_touched('events', ['event_date', 'event_type']) }}{% endif %}
group by 1, 2
