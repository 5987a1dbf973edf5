{#- How many rows each outcome of the cleaning accounts for: kept, or the
    first rule that dropped them (out-of-scope countries included). -#}

with

vouchers as (

    select * from {{ ref('int_vouchers_validated') }}

),

outcomes as (

    select
        is_in_scope,
        coalesce(rejection_reason, 'kept') as outcome

    from vouchers

),

final as (

    select
        outcome,
        is_in_scope,
        cast(count(*) as {{ dbt.type_bigint() }}) as row_count

    from outcomes
    group by
        outcome,
        is_in_scope

)

select * from final
