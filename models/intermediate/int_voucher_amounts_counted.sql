{#- How often each voucher amount was given per country, segment and
    variant: the distribution the mode is taken from. -#}

with

segmented as (

    select * from {{ ref('int_vouchers_segmented') }}
    where segment_variant is not null

),

final as (

    select
        country_code,
        segment_name,
        segment_variant,
        voucher_amount,
        sum(voucher_count) as voucher_count

    from segmented
    group by
        country_code,
        segment_name,
        segment_variant,
        voucher_amount

)

select * from final
