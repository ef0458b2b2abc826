{#- The sales win rate: won / (won + lost) deals as numeric(7,4), null when
    nothing was decided. won = accepted proposals, lost = rejected or expired
    ones, counted in the month of decided_at (see int_proposals_classified). -#}
{% macro win_rate(won, lost) -%}
    {{ safe_rate(won, '(' ~ won ~ ') + (' ~ lost ~ ')') }}
{%- endmacro %}
