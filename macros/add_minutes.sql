{#
    A timestamp moved by a number of minutes, keeping its fraction of a
    second. dbt.dateadd does this on DuckDB and PostgreSQL; on Spark it goes
    through unix_timestamp and drops the microseconds, so Spark uses
    timestampadd.
#}

{% macro add_minutes(minutes, timestamp) -%}
    {{ return(adapter.dispatch('add_minutes')(minutes, timestamp)) }}
{%- endmacro %}

{% macro default__add_minutes(minutes, timestamp) -%}
    {{ dbt.dateadd('minute', minutes, timestamp) }}
{%- endmacro %}

{% macro spark__add_minutes(minutes, timestamp) -%}
    timestampadd(MINUTE, {{ minutes }}, {{ timestamp }})
{%- endmacro %}
