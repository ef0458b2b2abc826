{#- The landing status of a base-model row from its reasons and _copy_number
    (row_number over the rows with the same id and _row_hash in landing order):
    'duplicate' when an identical row with the same id landed earlier
    (_copy_number > 1); else 'quarantined' when any reason code applies; else
    'accepted'. Rows without an id are never duplicates (nothing to match). -#}
{% macro row_status() -%}
    case
        when id is not null and id <> '' and _copy_number > 1 then 'duplicate'
        when cardinality(reasons) > 0 then 'quarantined'
        else 'accepted'
    end
{%- endmacro %}
