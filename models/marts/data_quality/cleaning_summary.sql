{#- How many rows each outcome of the cleaning accounts for: kept, or the
    first rule that dropped them (out-of-scope countries included), over
    every current load. -#}

with

load_outcomes as (

    select * from {{ ref('int_load_outcome_counts') }}

),

final as (

    select
        outcome,
        is_in_scope,
        cast(sum(row_count) as {{ dbt.type_bigint() }}) as row_count

    from load_outcomes
    group by
        outcome,
        is_in_scope

)

select * from final
