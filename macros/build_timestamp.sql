{#
    When this dbt invocation started, in UTC, as a plain timestamp. Every mart
    of one build carries the same value, so a reader can tell builds apart
    (the API swaps its snapshot when it changes).
#}
{% macro build_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#
    The same instant to the microsecond: the started_at audit.build_starts
    records (so "the latest started" cannot tie within a second), and the
    built_at of the incremental models' rows, compared with it.
#}
{% macro build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}
