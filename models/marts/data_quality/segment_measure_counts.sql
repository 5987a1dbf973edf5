{#- How many kept vouchers have each value of each segment's measure (orders,
    or days since the last order at voucher time), with the variant that value
    falls in: the histograms behind the segment bounds. -#}

with

segmented as (

    select * from {{ ref('int_vouchers_segmented') }}

),

final as (

    select
        country_code,
        segment_name,
        measure_value,
        segment_variant,
        cast(sum(voucher_count) as {{ dbt.type_bigint() }}) as voucher_count

    from segmented
    group by
        country_code,
        segment_name,
        measure_value,
        segment_variant

)

select * from final
