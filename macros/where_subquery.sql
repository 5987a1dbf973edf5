{#
    Verify each load once. A data test of an incremental-by-load model
    (macros/incremental_loads.sql) checks only the rows of the loads that
    no published build has verified: those built since the newest published
    build started (`built_at` after its start). A build is published only
    when every test passed, over those same rows, so each load is checked by
    the build that wrote it, or by the next ones until one passes; a failed
    build's loads stay unverified. A --full-refresh, or a change of the
    countries var, rewrites every load with this build's built_at: all of
    them are checked again. Without a publish log beside the build (nothing
    published yet, or Spark, whose builds are published into another
    warehouse) every row is checked, and so it is under --vars no published
    build had (a threshold lowered on the command line applies to every
    load). A test whose SQL changes does not re-check the loads verified
    before: a --full-refresh checks every load again.

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
    {%- set checked = load_verification(relation) -%}
    {{- return(none if checked is none else checked.unverified) -}}
{%- endmacro %}

{#
    The loads a relation holds split by whether a published build verified
    them: {'verified': [...], 'unverified': [...]}; none before the first
    publish (or where no publish log is beside the build, as on Spark).
#}
{% macro load_verification(relation) -%}
    {%- set verified_until = published_build_started_at() if execute else none -%}
    {%- if verified_until is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set split = {'verified': [], 'unverified': []} -%}
    {%- for row in built_loads(relation).rows -%}
        {%- do split['unverified' if row['built_at'] > verified_until else 'verified'].append(
            row['load_id']
        ) -%}
    {%- endfor -%}
    {{- return(split) -}}
{%- endmacro %}

{#- When the newest published build of this warehouse with the same --vars
    started (var('publish_log'), written by python -m serving publish); none
    before the first such publish. -#}
{% macro published_build_started_at() -%}
    {%- set schema, identifier = var('publish_log').split('.') -%}
    {%- set log_relation = adapter.get_relation(
        database=target.database, schema=schema, identifier=identifier
    ) -%}
    {%- if log_relation is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {#- Only builds of this warehouse (a Spark build may be published into
        the DuckDB file or PostgreSQL database another target builds in),
        run with these --vars (the publish log's dbt_vars, as the publish
        step writes them): a threshold or a country changed on the command
        line is a test the earlier builds did not pass. -#}
    {%- set dbt_vars = tojson(invocation_args_dict.get('vars') or {}, sort_keys=true) -%}
    {{- return(run_query(
        'select max(built_at) from ' ~ log_relation
        ~ " where build_target = '" ~ target.type ~ "'"
        ~ " and dbt_vars = '" ~ dbt.escape_single_quotes(dbt_vars) ~ "'"
    ).columns[0].values()[0]) -}}
{%- endmacro %}
