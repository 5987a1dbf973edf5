-- Which voucher amounts were given, per country and per segment variant,
-- and how close is the runner-up to the most used one?
--
-- Each amount with its count, its share of the variant and its rank under
-- the mode's own tie-break (most_used_rank: most vouchers, then the cheaper
-- amount). Country-wide rows (segment_name 'all') are the fallback's
-- distribution. is_tied_with_mode flags amounts that only lost on price.

with

amount_counts as (

    select * from {{ ref('int_voucher_amounts_counted') }}

),

vouchers as (

    select * from {{ ref('int_vouchers_validated') }}
    where is_kept

),

country_amount_counts as (

    select
        country_code,
        'all' as segment_name,
        'all' as segment_variant,
        voucher_amount,
        count(*) as voucher_count

    from vouchers
    group by
        country_code,
        voucher_amount

),

all_counts as (

    select
        country_code,
        segment_name,
        segment_variant,
        voucher_amount,
        voucher_count
    from amount_counts

    union all

    select
        country_code,
        segment_name,
        segment_variant,
        voucher_amount,
        voucher_count
    from country_amount_counts

),

ranked as (

    select
        *,
        {{ most_used_rank(
            ['country_code', 'segment_name', 'segment_variant']
        ) }} as amount_rank,
        max(voucher_count) over (
            partition by country_code, segment_name, segment_variant
        ) as mode_voucher_count,
        sum(voucher_count) over (
            partition by country_code, segment_name, segment_variant
        ) as variant_voucher_count

    from all_counts

),

final as (

    select
        country_code,
        segment_name,
        segment_variant,
        voucher_amount,
        voucher_count,
        round(
            cast(
                100.0 * voucher_count / variant_voucher_count
                as {{ dbt.type_numeric() }}
            ),
            2
        ) as share_of_variant_pct,
        amount_rank,
        amount_rank > 1 and voucher_count = mode_voucher_count
            as is_tied_with_mode

    from ranked

)

select * from final
order by
    country_code,
    segment_name,
    segment_variant,
    amount_rank
