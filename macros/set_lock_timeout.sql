{#
    Pre-hook of every model and seed: on PostgreSQL, replacing a table waits
    for every open transaction that read it, so one reader left open stalls
    the build without end. With a lock_timeout the statement fails after a
    bounded wait instead, the build fails clearly and nothing is published.
    The default (VOUCHER_LOCK_TIMEOUT) is dwh.settings.LOCK_TIMEOUT_DEFAULT.
#}
{% macro set_lock_timeout() -%}
    {{ return(adapter.dispatch('set_lock_timeout')()) }}
{%- endmacro %}

{% macro default__set_lock_timeout() -%}
{%- endmacro %}

{% macro postgres__set_lock_timeout() -%}
    set lock_timeout = '{{ env_var("VOUCHER_LOCK_TIMEOUT", "10s") }}'
{%- endmacro %}
