{#- Types the raw text. No row is dropped here: a value that does not parse
    becomes null and keeps its text, so intermediate can say why it drops it. -#}

with

source as (

    select * from {{ source('raw', 'vouchers') }}

),

trimmed as (

    select
        _source_row_number,
        _source_file,
        _load_id,
        _loaded_at,
        country_code,
        nullif(trim({{ adapter.quote('timestamp') }}), '') as given_at_text,
        nullif(trim(last_order_ts), '') as last_order_at_text,
        nullif(trim(first_order_ts), '') as first_order_at_text,
        nullif(trim(total_orders), '') as total_orders_text,
        nullif(trim(voucher_amount), '') as voucher_amount_text

    from source

),

final as (

    select
        cast(_source_row_number as {{ dbt.type_bigint() }}) as voucher_id,
        _load_id as load_id,
        _source_file as source_file,
        _loaded_at as loaded_at,

        trim(country_code) as country_name,
        lower(trim(country_code)) as country_key,

        given_at_text,
        {{ parse_iso_timestamp('given_at_text') }} as given_at,
        last_order_at_text,
        {{ parse_iso_timestamp('last_order_at_text') }} as last_order_at,
        first_order_at_text,
        {{ parse_iso_timestamp('first_order_at_text') }} as first_order_at,

        total_orders_text,
        {{ parse_whole_number('total_orders_text') }} as total_orders,
        voucher_amount_text,
        {{ parse_whole_number('voucher_amount_text') }} as voucher_amount

    from trimmed

)

select * from final
