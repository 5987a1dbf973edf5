{#- How many rows of each load each outcome of the cleaning accounts for:
    kept, or the first rule that dropped them (out-of-scope countries
    included). Incremental by load, like int_vouchers_validated, so the
    summary over all loads reads a few rows per load, not every row. -#}

{{ incremental_by_load() }}

with

vouchers as (

    select * from {{ ref('int_vouchers_validated') }}
    where {{ loads_to_process() }}

),

final as (

    select
        load_id,
        is_in_scope,
        coalesce(rejection_reason, 'kept') as outcome,
        cast(count(*) as {{ dbt.type_bigint() }}) as row_count,
        {{ load_state_columns() }}

    from vouchers
    group by
        load_id,
        is_in_scope,
        coalesce(rejection_reason, 'kept')

)

select * from final
