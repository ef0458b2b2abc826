{#- True on the version of a row that is in force at an instant, for versions
    valid from valid_from to valid_to (the next version's start, null while
    current): valid_from < instant <= valid_to. A version starting exactly at
    the instant is not yet in force, so at the end of a day (utc_day_end) it is
    the last version of events strictly before it: the state at month ends in
    int_subscription_month_ends and at day ends in int_customer_mrr_daily, and
    a snapshot's version (snapshot_valid_at). relation_alias qualifies the
    columns. -#}
{% macro version_in_force_at(instant, relation_alias=none, valid_from='valid_from', valid_to='valid_to') -%}
    {%- set prefix = relation_alias ~ '.' if relation_alias else '' -%}
    (
        {{ prefix }}{{ valid_from }} < {{ instant }}
        and ({{ prefix }}{{ valid_to }} is null or {{ prefix }}{{ valid_to }} >= {{ instant }})
    )
{%- endmacro %}
