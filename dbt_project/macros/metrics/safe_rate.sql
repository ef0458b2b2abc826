{#- A rate: numerator / denominator as numeric rounded to 4 decimals, null when the
    denominator is 0 or null. data_type is numeric(7,4) for fractions in [0, 1]
    and numeric(9,4) for ratios that may exceed 1 (net MRR retention). -#}
{% macro safe_rate(numerator, denominator, data_type='numeric(7, 4)') -%}
    cast(round(cast({{ numerator }} as numeric) / nullif(cast({{ denominator }} as numeric), 0), 4) as {{ data_type }})
{%- endmacro %}
