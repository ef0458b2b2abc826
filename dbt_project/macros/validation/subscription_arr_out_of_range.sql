{#- True when a subscription's ARR at its plan's amount, in cents (amount × quantity,
    × 12 for monthly plans; a yearly plan's MRR is rounded to the cent first, as
    int_subscription_states and the MRR definition do), exceeds what the marts'
    money type numeric(14,2) holds (999,999,999,999.99). Computed in numeric, so
    any int amount and quantity are compared exactly; null (unknown plan) is in range. -#}
{% macro subscription_arr_out_of_range(amount_cents, quantity, billing_interval) -%}
    (
        case
            when {{ billing_interval }} = 'year'
                then round(cast({{ amount_cents }} as numeric) * {{ quantity }} / 12) * 12
            else cast({{ amount_cents }} as numeric) * {{ quantity }} * 12
        end > 99999999999999
    )
{%- endmacro %}
