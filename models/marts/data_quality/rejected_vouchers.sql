{#- Every in-scope row the cleaning dropped, with the first rule it failed
    and its original text, so nothing disappears silently. Incremental by
    load, like int_vouchers_validated. -#}

{{ incremental_by_load() }}

with

vouchers as (

    select * from {{ ref('int_vouchers_validated') }}
    where is_in_scope and not is_kept and {{ loads_to_process() }}

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
        load_id,
        {{ load_state_columns() }}

    from vouchers

)

select * from final
