{#- The funnels' windows as a dict {funnel_name: window_days}, read from the
    funnel_definitions seed at run time (an empty dict at parse time or when
    not executing), for models that need them as literals. -#}
{% macro funnel_window_days() -%}
    {%- set windows = {} -%}
    {%- if execute -%}
        {%- set result = run_query(
            "select funnel_name, max(window_days) from " ~ ref('funnel_definitions')
            ~ " group by funnel_name order by funnel_name"
        ) -%}
        {%- for row in result.rows -%}
            {%- do windows.update({row[0]: row[1] | int}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(windows) }}
{%- endmacro %}
