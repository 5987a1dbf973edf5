{#
    Verify each load once. A data test of an incremental-by-load model
    (macros/incremental_loads.sql) checks only the rows of the loads that
    no published build has verified: those built since the newest published
    build started (`built_at` after its start). A build is published only
    when every test passed, over those same rows, so each load is checked by
    the build that wrote it, or by the next ones until one passes; a failed
    build's loads stay unverified. A --full-refresh, or a change of the
    countries var, rewrites every load with this build's built_at: all of
    them are checked again. Without a publish log (nothing published yet,
    or Spark, which does not publish) every row is checked.

    dbt's own get_where_subquery, with that filter added to the test's
    `where` config.
#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- if config.get('where') -%}
        {%- do conditions.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- set tested = (
        graph.nodes.get(model.attached_node)
        if execute and model.attached_node else none
    ) -%}
    {%- if tested and tested.config.materialized == 'incremental' -%}
        {%- set loads = loads_to_verify(relation) -%}
        {%- if loads is not none -%}
            {%- do conditions.append(load_id_in(loads)) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {#- The alias: Spark reads `where (` right after a table name as an
            alias with a column list. -#}
        {{- return(
            '(select * from ' ~ relation ~ ' as tested_rows where '
            ~ conditions | join(' and ') ~ ') dbt_subquery'
        ) -}}
    {%- endif -%}
    {{- return(relation) -}}
{%- endmacro %}

{#
    The loads of an incremental-by-load relation that its tests must check,
    as a list; none when all of them (no build published yet).
#}
{% macro loads_to_verify(relation) -%}
    {%- set verified_until = published_build_started_at() if execute else none -%}
    {%- if verified_until is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set loads = [] -%}
    {%- for row in built_loads(relation).rows if row['built_at'] > verified_until -%}
        {%- do loads.append(row['load_id']) -%}
    {%- endfor -%}
    {{- return(loads) -}}
{%- endmacro %}

{#- When the newest published build started (var('publish_log'), written by
    python -m serving publish); none before the first publish. -#}
{% macro published_build_started_at() -%}
    {%- set schema, identifier = var('publish_log').split('.') -%}
    {%- set log_relation = adapter.get_relation(
        database=target.database, schema=schema, identifier=identifier
    ) -%}
    {%- if log_relation is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(
        run_query('select max(built_at) from ' ~ log_relation).columns[0].values()[0]
    ) -}}
{%- endmacro %}
