{#
Incremental daily facts that stay equal to a full rebuild, late, changed and deleted rows included.

A daily fact cannot tell from its own rows which days a changed or deleted source row touched:
a deleted row is gone from raw, and a changed row's previous day is gone with its old version.
So each such model keeps, in `dbt_state.<model>__rows`, the grain key(s) every source row
contributed to when the model was last built (row_pk, key columns, _ingested_at).

pre-hook  `ehb_track_changes(keys, changed_rows_sql, current_pks_sql)` writes
          `dbt_state.<model>__delta`: the new version of every source row written to raw since the
          last build (its `_ingested_at` is later than the newest in the state minus the ingestion
          lookback) and the previous version of those rows and of rows deleted at the source.
model     recomputes only the keys in the delta (`ehb_touched`) and merges them on the unique key;
          a key left with no rows is deleted by the merge (`WHEN NOT MATCHED BY SOURCE AND`
          it is in the delta).
post-hook `ehb_save_state()` moves the state to the new versions, in the model's transaction.

Without a state (first build, --full-refresh, or the state was lost) the delta holds every row
and the model rebuilds every key.
#}

{% macro ehb_state(kind) -%}
    {{ api.Relation.create(database=this.database, schema='dbt_state',
                           identifier=this.identifier ~ '__' ~ kind) }}
{%- endmacro %}

{% macro ehb_has_state() -%}
    {%- set state = adapter.get_relation(database=this.database, schema='dbt_state',
                                         identifier=this.identifier ~ '__rows') -%}
    {{- return(is_incremental() and state is not none) -}}
{%- endmacro %}

{# The lower bound of `_ingested_at` for rows to re-read: the newest the model has seen minus the
   same lookback the ingestion uses (pipelines.ingest.LOOKBACK), or everything without a state. #}
{% macro ehb_since() -%}
    {%- if ehb_has_state() -%}
        (select coalesce(max(_ingested_at), '-infinity'::timestamptz)
                - interval '{{ var("ehb_lookback_minutes") }} minutes' from {{ ehb_state('rows') }})
    {%- else -%}
        '-infinity'::timestamptz
    {%- endif -%}
{%- endmacro %}

{% macro ehb_track_changes(keys, changed_rows, current_pks) -%}
    {%- set key_list = keys | join(', ') -%}
    {% if ehb_has_state() %}
    create or replace table {{ ehb_state('delta') }} as
        select row_pk, {{ key_list }}, _ingested_at, true as is_current from ({{ changed_rows }});
    insert into {{ ehb_state('delta') }}
        select s.row_pk, {{ key_list }}, s._ingested_at, false
        from {{ ehb_state('rows') }} s
        where s.row_pk in (select row_pk from {{ ehb_state('delta') }})
           or s.row_pk not in (select row_pk from ({{ current_pks }}));
    {% else %}
    drop table if exists {{ ehb_state('rows') }};
    create or replace table {{ ehb_state('delta') }} as
        select row_pk, {{ key_list }}, _ingested_at, true as is_current from ({{ changed_rows }});
    {% if is_incremental() %}
    {# no state but an existing table: every key it holds is touched, so stale ones go #}
    insert into {{ ehb_state('delta') }} (row_pk, {{ key_list }}, _ingested_at, is_current)
        select distinct null, {{ key_list }}, null::timestamptz, false from {{ this }};
    {% endif %}
    {% endif %}
{%- endmacro %}

{% macro ehb_save_state() -%}
    create table if not exists {{ ehb_state('rows') }} as
        select * exclude (is_current) from {{ ehb_state('delta') }} where false;
    delete from {{ ehb_state('rows') }}
        where row_pk in (select row_pk from {{ ehb_state('delta') }} where row_pk is not null);
    insert into {{ ehb_state('rows') }} by name
        select * exclude (is_current) from {{ ehb_state('delta') }} where is_current;
{%- endmacro %}

{# `alias`'s key columns are among the keys the current run recomputes. #}
{% macro ehb_touched(alias, keys) -%}
    exists (select 1 from {{ ehb_state('delta') }} as d
            where {% for k in keys %}d.{{ k }} = {{ alias }}.{{ k }}{{ ' and ' if not loop.last }}{% endfor %})
{%- endmacro %}

{# The merge clauses of such a model: update recomputed keys, insert new ones, delete touched keys
   that no longer have rows. `merge_clauses` is read at parse time, so the relation is spelled. #}
{% macro ehb_merge_clauses(model_name, keys) -%}
    {%- set cond -%}
        exists (select 1 from dbt_state.{{ model_name }}__delta as d where
        {%- for k in keys %} d.{{ k }} = DBT_INTERNAL_DEST.{{ k }}{{ ' and' if not loop.last }}{% endfor %})
    {%- endset -%}
    {{ return({
        'when_matched': [{'action': 'update', 'mode': 'by_name'}],
        'when_not_matched': [
            {'action': 'insert', 'mode': 'by_name'},
            {'by': 'source', 'condition': cond, 'action': 'delete'},
        ]}) }}
{%- endmacro %}
