{#
    Incremental by load: the models that grow with raw rows (validated rows,
    per-load counts, the rejected and anomalous rows) process only the loads
    the previous build has not seen, and drop the rows of loads withdrawn
    since (python -m loader unload, or --replace). Their rows carry load_id
    and the load's state (load_state_columns): scope_key, the fingerprint of
    var('countries') they were computed under (when the var changes, every
    current load is processed again, so the table equals a --full-refresh
    without anyone asking), and built_at, when the build that wrote them
    started (their data tests check only the loads no published build has
    verified: macros/where_subquery.sql).
#}

{#- The fingerprint of the countries in scope, as a whole number. -#}
{% macro scope_key() -%}
    {%- set keys = _countries_var() | map('trim') | map('lower') | unique | sort -%}
    {{- return(local_md5(keys | join('\n'))[:7] | int(base=16)) -}}
{%- endmacro %}

{#- The columns every row of an incremental-by-load model ends with. -#}
{% macro load_state_columns() -%}
    {{ scope_key() }} as scope_key,
    {{ build_started_at() }} as built_at
{%- endmacro %}

{#- load_id in (...) for a list of load ids; matches nothing when empty. -#}
{% macro load_id_in(load_ids, load_id_column='load_id') -%}
    {%- if load_ids | length == 0 -%}
        {{- return('1 = 0') -}}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for load_id in load_ids -%}
        {%- do literals.append("'" ~ dbt.escape_single_quotes(load_id) ~ "'") -%}
    {%- endfor -%}
    {{- return(load_id_column ~ ' in (' ~ literals | join(', ') ~ ')') -}}
{%- endmacro %}

{#
    The loads an incremental-by-load table holds, one row each: load_id,
    scope_key, built_at (the same on every row of a load).
#}
{% macro built_loads(relation) -%}
    {{- return(adapter.dispatch('built_loads', 'voucher_selection')(relation)) -}}
{%- endmacro %}

{% macro default__built_loads(relation) -%}
    {{- return(run_query(
        'select load_id, min(scope_key) as scope_key, min(built_at) as built_at'
        ~ ' from ' ~ relation ~ ' group by load_id'
    )) -}}
{%- endmacro %}

{#- PostgreSQL: one probe of the load_id index per logged load, instead of
    a scan of the whole table (11M rows: seconds, every build). A load in
    the table but not in raw.load_log cannot arise from the loader. -#}
{% macro postgres__built_loads(relation) -%}
    {{- return(run_query(
        'select logged.load_id, built.scope_key, built.built_at'
        ~ ' from ' ~ source('raw', 'load_log') ~ ' as logged'
        ~ ' cross join lateral (select scope_key, built_at from ' ~ relation
        ~ ' as built_rows where built_rows.load_id = logged.load_id limit 1)'
        ~ ' as built'
    )) -}}
{%- endmacro %}

{#
    What an incremental build of `this` changes: `todo`, the current loads
    (raw.load_log, unloaded_at null) the table lacks, or all of them when its
    scope_key differs from the var's (`rescoped`); `stale`, the loads it
    holds that are no longer current.
#}
{% macro load_changes() -%}
    {%- set current = run_query(
        'select load_id from ' ~ source('raw', 'load_log')
        ~ ' where unloaded_at is null'
    ).columns[0].values() | list -%}
    {%- set built = built_loads(this) -%}
    {%- set built_loads_ids = built.columns[0].values() | list -%}
    {%- set scopes = built.columns[1].values() | unique | list -%}
    {%- set rescoped = scopes | length > 0 and scopes != [scope_key()] -%}
    {{- return({
        'todo': current if rescoped else current | reject('in', built_loads_ids) | list,
        'stale': built_loads_ids | reject('in', current) | list,
        'built': built_loads_ids,
        'rescoped': rescoped,
    }) -}}
{%- endmacro %}

{#
    A predicate on load_id selecting the rows this build must process:
    everything on a first or full build; otherwise load_changes().todo.
#}
{% macro loads_to_process(load_id_column='load_id') -%}
    {#- A unit test has no `this`: it runs the model as a first build. -#}
    {%- if this is none or not is_incremental() -%}
        {{- return('1 = 1') -}}
    {%- endif -%}
    {%- if not execute -%}
        {{- return('1 = 0') -}}
    {%- endif -%}
    {%- set changes = load_changes() -%}
    {%- if changes.rescoped -%}
        {%- do log(this.identifier ~ ': var countries changed since the last build;'
            ~ ' processing every load again', info=true) -%}
    {%- endif -%}
    {{- return(load_id_in(changes.todo, load_id_column)) -}}
{%- endmacro %}

{#
    Incremental strategy `by_load` (DuckDB, PostgreSQL): delete the rows of
    the loads this build processes, of the loads its new rows hold (the same,
    unless another build added one meanwhile) and of the withdrawn ones, by
    literal load ids (on PostgreSQL through the load_id index; dbt's
    delete+insert joins the new rows to the whole table), then insert the
    new rows.
#}
{% macro get_incremental_by_load_sql(arg_dict) -%}
    {%- set changes = load_changes() -%}
    {%- set incoming = run_query(
        'select distinct load_id from ' ~ arg_dict['temp_relation']
    ).columns[0].values() | list -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ load_id_in((changes.todo + incoming + changes.stale) | unique | list) }};

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{#
    Spark's pre-hook: Parquet tables have no DELETE, and insert_overwrite
    replaces only the partitions the new rows fill; drop the withdrawn
    loads' partitions, and when the countries changed every partition (a
    load with no rows under the new countries would keep its old ones), one
    statement each (Spark runs no multi-statement string). Elsewhere the
    by_load strategy deletes them.
#}
{% macro drop_withdrawn_loads() -%}
    {%- if target.type == 'spark' and this is not none and is_incremental() and execute -%}
        {%- set changes = load_changes() -%}
        {%- for load_id in (changes.built if changes.rescoped else changes.stale) -%}
            {%- do run_query(
                'alter table ' ~ this ~ ' drop if exists partition (load_id = \''
                ~ dbt.escape_single_quotes(load_id) ~ '\')'
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#
    The config of a model incremental by load, called first in its SQL:
    DuckDB and PostgreSQL use the by_load strategy above (a load is the
    unit of change, and needs no key per row), with an index on load_id on
    PostgreSQL; Spark overwrites the load's partition.
#}
{% macro incremental_by_load() -%}
    {{ config(
        materialized='incremental',
        incremental_strategy=(
            'insert_overwrite' if target.type == 'spark' else 'by_load'
        ),
        partition_by=(['load_id'] if target.type == 'spark' else none),
        indexes=([{'columns': ['load_id']}] if target.type == 'postgres' else []),
        pre_hook=["{{ drop_withdrawn_loads() }}"],
    ) }}
{%- endmacro %}
