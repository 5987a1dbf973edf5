with

amount_counts as (

    select * from {{ ref('int_voucher_amounts_counted') }}

),

final as (

    select
        country_code,
        segment_name,
        segment_variant,
        cast(voucher_amount as {{ dbt.type_int() }}) as voucher_amount,
        cast(voucher_count as {{ dbt.type_bigint() }}) as voucher_count,
        {{ build_timestamp() }} as built_at

    from amount_counts

)

select * from final
