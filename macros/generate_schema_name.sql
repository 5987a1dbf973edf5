{#
    Use the folder's custom schema as-is (staging, intermediate, marts) instead
    of dbt's default "<target_schema>_<custom>", so the API and analysts read
    one stable name, marts.voucher_segment_modes, on every warehouse.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
