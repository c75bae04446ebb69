{# Source rows of the incremental security facts (see macros/incremental_by_key.sql). #}

{% macro security_events__changed_rows(keys) %}
    select security_event_id as row_pk, {{ keys | join(', ') }}, _ingested_at
    from {{ ref('stg_ehb__security_events') }}
    where _ingested_at > {{ ehb_since() }}
{% endmacro %}

{% macro security_events__current_pks() %}
    select security_event_id as row_pk from {{ ref('stg_ehb__security_events') }}
{% endmacro %}
