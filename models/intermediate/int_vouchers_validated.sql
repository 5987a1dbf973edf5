{#- Applies the cleaning rules in order; the first rule a row fails is its
    rejection_reason. Rows of countries outside var('countries') are out of
    scope. Also derives days_since_last_order at the time of the voucher.
    Incremental by load (macros/incremental_loads.sql): a build validates
    only the loads the table lacks. -#}

{{ incremental_by_load() }}

{%- set new_loads = loads_to_process() %}

with

-- Only rows of a country in scope are parsed: a filter on literal keys is
-- pushed below the staging view, so its parsing runs for these rows alone.
-- (Two imports of the view, each read once, so that no engine materializes
-- it whole for both.)
vouchers_in_scope as (

    select * from {{ ref('stg_raw__vouchers') }}
    where
        country_key in ({{ country_keys_in_scope() }})
        and {{ new_loads }}

),

-- The other rows are rejected for their country alone: no rule needs their
-- parsed values, so they are not parsed (null); their text is kept.
vouchers_out_of_scope as (

    select * from {{ ref('stg_raw__vouchers') }}
    where
        (
            country_key is null
            or country_key not in ({{ country_keys_in_scope() }})
        )
        and {{ new_loads }}

),

countries as (

    {{ countries_in_scope() }}

),

in_scope as (

    select
        vouchers_in_scope.*,
        countries.country_code,
        true as is_in_scope

    from vouchers_in_scope
    inner join countries
        on vouchers_in_scope.country_key = countries.country_key

),

-- The staging model's columns in its order, parsed ones null.
out_of_scope as (

    select
        voucher_id,
        load_id,
        source_file,
        loaded_at,
        country_name,
        country_key,
        given_at_text,
        cast(null as {{ dbt.type_timestamp() }}) as given_at,
        last_order_at_text,
        cast(null as {{ dbt.type_timestamp() }}) as last_order_at,
        first_order_at_text,
        cast(null as {{ dbt.type_timestamp() }}) as first_order_at,
        total_orders_text,
        cast(null as {{ dbt.type_int() }}) as total_orders,
        voucher_amount_text,
        cast(null as {{ dbt.type_int() }}) as voucher_amount,
        cast(null as {{ dbt.type_string() }}) as country_code,
        false as is_in_scope

    from vouchers_out_of_scope

),

scoped as (

    select * from in_scope
    union all
    select * from out_of_scope

),

measured as (

    select
        *,
        -- Recency is counted when the voucher was given, in UTC calendar
        -- days: not today's date, which would drift every day.
        case
            when given_at is not null and last_order_at is not null
                then {{ dbt.datediff(
                    'cast(last_order_at as date)',
                    'cast(given_at as date)',
                    'day'
                ) }}
        end as days_since_last_order

    from scoped

),

validated as (

    select
        *,
        case
            when not is_in_scope then 'country_not_selected'
            when total_orders_text is null then 'total_orders_missing'
            when total_orders is null then 'total_orders_not_whole_number'
            when voucher_amount_text is null then 'voucher_amount_missing'
            when voucher_amount is null then 'voucher_amount_not_whole_number'
            when given_at_text is not null and given_at is null
                then 'given_at_unparseable'
            when last_order_at_text is not null and last_order_at is null
                then 'last_order_at_unparseable'
            when first_order_at_text is not null and first_order_at is null
                then 'first_order_at_unparseable'
            when
                total_orders = 0
                and (last_order_at is not null or first_order_at is not null)
                then 'orders_dated_but_total_zero'
            when last_order_at < first_order_at
                then 'last_order_before_first_order'
        end as rejection_reason

    from measured

),

final as (

    {#- The columns in the order _intermediate__models.yml documents them
        (is_kept beside the rejection_reason it derives from), not ST06's
        simple columns first. #}
    select  -- noqa: ST06
        voucher_id,
        load_id,
        source_file,
        country_name,
        country_code,
        is_in_scope,
        rejection_reason is null as is_kept,
        rejection_reason,
        given_at_text,
        given_at,
        last_order_at_text,
        last_order_at,
        first_order_at_text,
        first_order_at,
        total_orders_text,
        total_orders,
        voucher_amount_text,
        voucher_amount,
        days_since_last_order,
        coalesce(days_since_last_order < 0, false)
            as is_given_before_last_order,
        {{ load_state_columns() }}

    from validated

)

select * from final
