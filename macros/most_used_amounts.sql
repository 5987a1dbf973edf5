{#
    The mode: from a relation of (partition columns, voucher_amount,
    voucher_count) rows, keep per partition the first amount by
    most_used_rank (the tie-break), and add the partition's total as
    `total_column`.
#}
{% macro most_used_amounts(relation, partition_by, total_column) -%}
    {%- set partition = partition_by | join(', ') -%}
    select * from (
        select
            *,
            {{ most_used_rank(partition_by) }} as amount_rank,
            sum(voucher_count) over (partition by {{ partition }})
                as {{ total_column }}
        from {{ relation }}
    ) as ranked
    where amount_rank = 1
{%- endmacro %}
