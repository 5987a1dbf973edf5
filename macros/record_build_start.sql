{#
    On-run-start hook: write down, in the warehouse, that this invocation
    started and when raw last changed (the newest load or withdrawal in
    raw.load_log). The publish step only accepts the invocation of
    run_results.json if it is also the latest one started here (so a later
    run that was killed or selected a few models cannot leave half-written
    tables behind a "passed" run_results.json) and if raw has not changed
    since (so no load landed and none was withdrawn during the build).
#}
{% macro record_build_start() -%}
    {%- set log_table = 'audit.build_starts' -%}
    {#- One statement per call: Spark runs no multi-statement strings. -#}
    {%- do run_query('create schema if not exists audit') -%}
    {%- do run_query(
        'create table if not exists ' ~ log_table ~ ' ('
        ~ ' invocation_id ' ~ dbt.type_string() ~ ','
        ~ ' command ' ~ dbt.type_string() ~ ','
        ~ ' started_at ' ~ dbt.type_timestamp() ~ ','
        ~ ' raw_changed_at ' ~ dbt.type_timestamp() ~ ')'
    ) -%}
    insert into {{ log_table }}
    select
        '{{ invocation_id }}',
        '{{ invocation_args_dict.get("which", "") }}',
        {{ build_started_at() }},
        (
            select max(coalesce(unloaded_at, finished_at))
            from {{ var('raw_schema') }}.load_log
        )
{%- endmacro %}
