{#
    The API reads the marts as its own role, which may only SELECT them, so a
    bug or a leaked password in the service cannot change the answers. Run as
    an on-run-start hook; a no-op where the warehouse has no roles (DuckDB).
#}
{% macro grant_api_read_access() -%}
    {{ return(adapter.dispatch('grant_api_read_access')()) }}
{%- endmacro %}

{% macro default__grant_api_read_access() -%}
    select 1
{%- endmacro %}

{% macro postgres__grant_api_read_access() -%}
    {%- set role = env_var('VOUCHER_API_PGUSER', 'voucher_api') -%}
    {%- set password = env_var('VOUCHER_API_PGPASSWORD', '') -%}
    do $$
    begin
        if not exists (select from pg_roles where rolname = '{{ role }}') then
            create role {{ adapter.quote(role) }} login;
        end if;
    end
    $$;
    {% if password %}
    alter role {{ adapter.quote(role) }} password '{{ dbt.escape_single_quotes(password) }}';
    {% endif %}
    create schema if not exists marts;
    revoke create on schema marts from public;
    grant usage on schema marts to {{ adapter.quote(role) }};
    grant select on all tables in schema marts to {{ adapter.quote(role) }};
    alter default privileges in schema marts
        grant select on tables to {{ adapter.quote(role) }};
{%- endmacro %}
