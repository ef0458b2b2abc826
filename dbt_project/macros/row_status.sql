{#- The landing status of a base-model row, given its _row_hash and reasons:
    'duplicate' when a row landed earlier (landing_order: the order rows
    landed in, ending in a stable tiebreak) has the same id and identical
    content; else 'quarantined' when any reason code applies; else 'accepted'.
    Rows without an id are never duplicates (they cannot be matched). -#}
{% macro row_status(landing_order) -%}
    case
        when id is not null and id <> ''
            and row_number() over (partition by id, _row_hash order by {{ landing_order }}) > 1
            then 'duplicate'
        when cardinality(reasons) > 0 then 'quarantined'
        else 'accepted'
    end
{%- endmacro %}
