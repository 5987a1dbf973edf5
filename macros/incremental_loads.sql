{#
    Incremental by load: the models that grow with raw rows (validated rows,
    per-load counts) process only the loads the previous build has not seen,
    and drop the rows of loads withdrawn since (python -m loader unload, or
    --replace). Their rows carry load_id and scope_key, the fingerprint of
    var('countries') they were computed under: when the var changes, every
    current load is processed again (delete+insert by load id replaces them
    all), so the table equals a --full-refresh without anyone asking.
#}

{#- The fingerprint of the countries in scope, as a whole number. -#}
{% macro scope_key() -%}
    {%- set keys = _countries_var() | map('trim') | map('lower') | unique | sort -%}
    {{- return(local_md5(keys | join('\n'))[:7] | int(base=16)) -}}
{%- endmacro %}

{#
    A predicate on load_id selecting the rows this build must process:
    everything on a first or full build; otherwise the current loads the
    table lacks (all current loads if its scope_key differs).
#}
{% macro loads_to_process(load_id_column='load_id') -%}
    {#- A unit test has no `this`: it runs the model as a first build. -#}
    {%- if this is none or not is_incremental() -%}
        {{- return('1 = 1') -}}
    {%- endif -%}
    {%- if not execute -%}
        {{- return('1 = 0') -}}
    {%- endif -%}
    {%- set current = run_query(
        'select load_id from ' ~ source('raw', 'load_log')
        ~ ' where unloaded_at is null'
    ).columns[0].values() | list -%}
    {%- set built = run_query(
        'select distinct load_id, scope_key from ' ~ this
    ) -%}
    {%- set built_loads = built.columns[0].values() | list -%}
    {%- set scopes = built.columns[1].values() | unique | list -%}
    {%- if scopes | length > 0 and scopes != [scope_key()] -%}
        {%- do log(this.identifier ~ ': var countries changed since the last build;'
            ~ ' processing every load again', info=true) -%}
        {%- set todo = current -%}
    {%- else -%}
        {%- set todo = current | reject('in', built_loads) | list -%}
    {%- endif -%}
    {%- if todo | length == 0 -%}
        {{- return('1 = 0') -}}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for load_id in todo -%}
        {%- do literals.append("'" ~ dbt.escape_single_quotes(load_id) ~ "'") -%}
    {%- endfor -%}
    {{- return(load_id_column ~ ' in (' ~ literals | join(', ') ~ ')') -}}
{%- endmacro %}

{#
    Pre-hook: remove the rows of loads that are no longer current. A no-op
    on a first or full build (the table is created from current loads).
#}
{% macro drop_withdrawn_loads() -%}
    {%- if this is not none and is_incremental() -%}
        {{- return(adapter.dispatch('drop_withdrawn_loads', 'voucher_selection')()) -}}
    {%- endif -%}
{%- endmacro %}

{% macro default__drop_withdrawn_loads() -%}
    delete from {{ this }}
    where load_id not in (
        select load_id from {{ source('raw', 'load_log') }}
        where unloaded_at is null
    )
{%- endmacro %}

{#- Spark: Parquet tables have no DELETE; drop the withdrawn loads'
    partitions, one statement each (Spark runs no multi-statement string). -#}
{% macro spark__drop_withdrawn_loads() -%}
    {%- if execute -%}
        {%- set stale = run_query(
            'select distinct load_id from ' ~ this ~ ' where load_id not in ('
            ~ 'select load_id from ' ~ source('raw', 'load_log')
            ~ ' where unloaded_at is null)'
        ).columns[0].values() | list -%}
        {%- for load_id in stale -%}
            {%- do run_query(
                'alter table ' ~ this ~ ' drop if exists partition (load_id = \''
                ~ dbt.escape_single_quotes(load_id) ~ '\')'
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#
    The config of a model incremental by load, called first in its SQL:
    DuckDB and PostgreSQL delete+insert by load id (a load is the unit of
    change, and needs no key per row); Spark overwrites the load's
    partition (Parquet tables have no DELETE).
#}
{% macro incremental_by_load() -%}
    {{ config(
        materialized='incremental',
        incremental_strategy=(
            'insert_overwrite' if target.type == 'spark' else 'delete+insert'
        ),
        unique_key='load_id',
        partition_by=(['load_id'] if target.type == 'spark' else none),
        pre_hook=["{{ drop_withdrawn_loads() }}"],
    ) }}
{%- endmacro %}
