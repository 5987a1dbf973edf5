{#
    Text that spells a non-negative whole number, such as '4', '4.0' or '15',
    parsed to an integer; anything else ('', '2.5', '-3.0', 'abc') is null.
    Nine digits at most, so the cast can never overflow an integer. Pass an
    expression that is already trimmed.
#}

{% macro whole_number_pattern() -%}
    ^[0-9]{1,9}([.]0*)?$
{%- endmacro %}

{% macro parse_whole_number(text) -%}
    case
        when {{ regexp_matches(text, whole_number_pattern()) }}
            then cast(cast({{ text }} as decimal(12, 1)) as integer)
    end
{%- endmacro %}
