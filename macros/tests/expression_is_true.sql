{#
    Every row satisfies the boolean SQL expression (rows where it is false or
    null fail), the other test dbt_utils would give us.
#}
{% test expression_is_true(model, expression) %}

select * from {{ model }}
where not coalesce({{ expression }}, false)

{% endtest %}
