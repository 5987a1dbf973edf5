{#- Every in-scope row the cleaning dropped, with the first rule it failed
    and its original text, so nothing disappears silently. -#}

with

vouchers as (

    select * from {{ ref('int_vouchers_validated') }}
    where is_in_scope and not is_kept

),

final as (

    select
        voucher_id,
        country_code,
        rejection_reason,
        given_at_text,
        last_order_at_text,
        first_order_at_text,
        total_orders_text,
        voucher_amount_text,
        load_id

    from vouchers

)

select * from final
