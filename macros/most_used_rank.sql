{#
    The one place the mode's tie-break lives: most rows first; on a tie, the
    smaller (cheaper) voucher amount wins, so the answer is deterministic and
    errs on the side of spending less.
#}
{% macro most_used_rank(partition_by) -%}
    row_number() over (
        partition by {{ partition_by | join(', ') }}
        order by voucher_count desc, voucher_amount asc
    )
{%- endmacro %}
