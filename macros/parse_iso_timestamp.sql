{#
    Parse ISO 8601 text into a UTC timestamp, or null when the text is not a
    real instant. Written once in portable SQL (one regular expression for the
    shape, then substring arithmetic and casts of digits already validated) so
    DuckDB, PostgreSQL and Spark accept and reject exactly the same values,
    with none of a warehouse's own try_cast leniency.

    Accepted: YYYY-MM-DD, optionally followed by 'T' or a space, HH:MM,
    optional :SS, optional fraction, optional offset (Z, +HH, +HHMM, +HH:MM).
    Naive values are UTC. The calendar is checked (2018-02-30 is rejected).
    Pass an expression that is already trimmed.
#}

{% macro iso_timestamp_pattern() -%}
    ^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?$
{%- endmacro %}


{% macro days_in_month(year, month) -%}
    case
        when {{ month }} in (4, 6, 9, 11) then 30
        when {{ month }} = 2 then
            case
                when ({{ year }} % 4 = 0 and {{ year }} % 100 <> 0)
                    or {{ year }} % 400 = 0
                    then 29
                else 28
            end
        else 31
    end
{%- endmacro %}


{% macro is_iso_timestamp(text) -%}
    {#- Nested CASE, not AND: PostgreSQL may evaluate AND operands in any
        order, and the casts below are only safe once the shape is known. -#}
    {%- set year = 'cast(substring(' ~ text ~ ', 1, 4) as integer)' -%}
    {%- set month = 'cast(substring(' ~ text ~ ', 6, 2) as integer)' -%}
    {%- set day = 'cast(substring(' ~ text ~ ', 9, 2) as integer)' -%}
    case
        when not {{ regexp_matches(text, iso_timestamp_pattern()) }} then false
        when {{ month }} not between 1 and 12 then false
        when {{ day }} not between 1 and {{ days_in_month(year, month) }}
            then false
        when length({{ text }}) = 10 then true
        when cast(substring({{ text }}, 12, 2) as integer) > 23 then false
        when cast(substring({{ text }}, 15, 2) as integer) > 59 then false
        when substring({{ text }}, 17, 1) = ':'
            then cast(substring({{ text }}, 18, 2) as integer) <= 59
        else true
    end
{%- endmacro %}


{% macro iso_offset_length(text) -%}
    {#- Characters taken by the offset at the end of a text of valid shape.
        A sign after position 16 (past YYYY-MM-DD HH:MM) can only start an
        offset, so plain substring checks suffice. -#}
    {%- set length = 'length(' ~ text ~ ')' -%}
    case
        when substring({{ text }}, {{ length }}, 1) = 'Z' then 1
        when {{ length }} - 5 > 16
            and substring({{ text }}, {{ length }} - 5, 1) in ('+', '-')
            then 6
        when {{ length }} - 4 > 16
            and substring({{ text }}, {{ length }} - 4, 1) in ('+', '-')
            then 5
        when {{ length }} - 2 > 16
            and substring({{ text }}, {{ length }} - 2, 1) in ('+', '-')
            then 3
        else 0
    end
{%- endmacro %}


{% macro iso_offset_minutes(text, offset_length) -%}
    {%- set sign_at = 'length(' ~ text ~ ') - ' ~ offset_length ~ ' + 1' -%}
    case
        when {{ offset_length }} <= 1 then 0
        else
            (case when substring({{ text }}, {{ sign_at }}, 1) = '-' then -1 else 1 end)
            * (
                cast(substring({{ text }}, {{ sign_at }} + 1, 2) as integer) * 60
                + case
                    when {{ offset_length }} > 3
                        then cast(
                            substring({{ text }}, length({{ text }}) - 1, 2)
                            as integer
                        )
                    else 0
                end
            )
    end
{%- endmacro %}


{% macro parse_iso_timestamp(text) -%}
    {{ return(adapter.dispatch('parse_iso_timestamp')(text)) }}
{%- endmacro %}


{#- DuckDB: its own parser behind the same shape check, several times faster
    than the portable arithmetic (each row's timestamps are parsed here). It
    agrees with the default on every text of that shape (the unit tests of
    stg_raw__vouchers run on every warehouse): the calendar, the clock and
    the offset are DuckDB's, except two spellings it reads its own way,
    settled first: hour 24 (DuckDB rolls it over to the next day; refused)
    and HH:MM without seconds before an offset (DuckDB wants the seconds;
    ':00' is added). Naive text is cast to timestamp, never through the
    session's time zone; text with an offset is converted to UTC. -#}
{% macro duckdb__parse_iso_timestamp(text) -%}
    case
        when not regexp_full_match({{ text }}, '{{ iso_timestamp_pattern() }}')
            then null
        when length({{ text }}) > 10 and substring({{ text }}, 12, 2) > '23'
            then null
        when length({{ text }}) > 16
            and regexp_matches(
                substring({{ text }}, 17), '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$'
            )
            then cast(
                try_cast({{ iso_with_seconds(text) }} as timestamptz)
                at time zone 'UTC' as timestamp
            )
        else try_cast({{ iso_with_seconds(text) }} as timestamp)
    end
{%- endmacro %}


{#- PostgreSQL: its own cast once the portable check (is_iso_timestamp) has
    made it safe: PostgreSQL has no try_cast, so a text it would refuse must
    never reach it. Besides hour 24 and HH:MM before an offset (as for
    DuckDB), it differs from the default in two ways, settled first: it
    rounds a seventh fraction digit where the default truncates (the text is
    cut to microseconds), and it refuses offsets beyond +-15:59 that the
    default reads (those rare texts take the default's arithmetic). -#}
{% macro postgres__parse_iso_timestamp(text) -%}
    {#- Only what a text needs is done to it; the text has a valid shape by
        then, so past position 16 a Z or a sign can only start an offset and
        plain substring tests replace regular expressions (most values are
        naive whole seconds: the check and the cast, nothing else). -#}
    {%- set tail = 'substring(' ~ text ~ ', 17)' -%}
    {%- set normalised -%}
        case
            when length({{ text }}) > 26
                then regexp_replace(
                    {{ iso_with_seconds(text) }}, '([.][0-9]{6})[0-9]+', '\1'
                )
            when substring({{ text }}, 17, 1) in ('Z', '+', '-')
                then {{ iso_with_seconds(text) }}
            else {{ text }}
        end
    {%- endset -%}
    case
        when not ({{ is_iso_timestamp(text) }}) then null
        when right({{ text }}, 1) <> 'Z'
            and strpos({{ tail }}, '+') = 0
            and strpos({{ tail }}, '-') = 0
            then cast({{ normalised }} as timestamp)
        when {{ tail }} ~ '(Z|[+-](0[0-9]|1[0-5])(:?[0-5][0-9])?)$'
            then cast({{ normalised }} as timestamptz) at time zone 'UTC'
        else {{ default__parse_iso_timestamp(text) }}
    end
{%- endmacro %}


{% macro iso_with_seconds(text) -%}
    regexp_replace(
        {{ text }},
        '^([0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2})([Z+-].*)?$',
        '\1:00\2'
    )
{%- endmacro %}


{% macro default__parse_iso_timestamp(text) -%}
    {%- set offset_length = '(' ~ iso_offset_length(text) ~ ')' -%}
    {#- The local part without its offset, at most microseconds. -#}
    {%- set local_length = 'length(' ~ text ~ ') - ' ~ offset_length -%}
    {%- set local_text = dbt.concat([
        'substring(' ~ text ~ ', 1, 10)',
        "' '",
        'case when ' ~ local_length ~ ' >= 16 then substring(' ~ text
            ~ ', 12, least(' ~ local_length ~ ' - 11, 15))'
            ~ " else '00:00' end",
        'case when ' ~ local_length ~ " in (10, 16) then ':00' else '' end",
    ]) -%}
    case
        when {{ is_iso_timestamp(text) }} then
            {{ add_minutes(
                '-1 * (' ~ iso_offset_minutes(text, offset_length) ~ ')',
                'cast(' ~ local_text ~ ' as ' ~ dbt.type_timestamp() ~ ')'
            ) }}
    end
{%- endmacro %}
