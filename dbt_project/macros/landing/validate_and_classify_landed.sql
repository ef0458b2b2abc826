{#- The tail both landed-versions macros share: a `validated` CTE with each
    landed row's hash and reason codes (unknown tenant, missing required
    column, implausible timestamp, the model's own rules, and with a reference
    the orphan check against known_<entity>s), then classify_landed_rows,
    which ends in `final`. -#}
{% macro validate_and_classify_landed(landed, raw_table, required, timestamps, rules, reference, entity) -%}
validated as (

    select
        {{ landed }}.*,
        {{ row_hash(source_columns(raw_table), landed) }} as _row_hash,
        {{ reason_codes([
            unknown_tenant(landed ~ '.tenant_id', 'tenants.known_tenant_id'),
            missing_required(required, source_column_types(raw_table)),
            implausible_timestamp(timestamps),
        ] + rules) }} as reasons
    from {{ landed }}
    left join tenants
        on {{ landed }}.tenant_id = tenants.known_tenant_id
    {%- if reference %}
    left join known_{{ entity }}s
        on {{ landed }}.tenant_id = known_{{ entity }}s.{{ entity }}_tenant_id
        and {{ landed }}.{{ entity }}_id = known_{{ entity }}s.known_{{ entity }}_id
    {%- endif %}

),

-- staging keeps the latest accepted version of each id
{{ classify_landed_rows(
    'validated',
    '_loaded_at, _batch_id',
    'updated_at desc nulls last, _loaded_at desc, _batch_id desc, _row_hash'
) }}
{%- endmacro %}
