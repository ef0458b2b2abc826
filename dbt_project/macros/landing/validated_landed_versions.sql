{#- The query of a base_ staging model over a mutable source table (one with
    updated_at; docs/sources.md): every version of raw_table landed and visible
    at the as-of date (CTE landed_<table>, landed_source_rows), its reasons and
    the classification by classify_landed_rows, whose current row per id (the
    latest accepted version) is what the stg_ model keeps.
    reasons: unknown_tenant (against the tenants of base_app__organizations,
    CTE tenants), missing_required on `required`, implausible_timestamp on
    `timestamps`, then the table's own `rules` in order; a rule names columns
    by those CTEs, e.g. currency_mismatch('landed_plans.currency',
    'tenants.tenant_currency').
    reference ({'model': a base model, 'entity': its singular name, optional
    'id_column', default 'id'}): the ids of that model landed in each tenant,
    whatever their status (CTE known_<entity>s, columns <entity>_tenant_id and
    known_<entity>_id), joined on the row's <entity>_id, for orphan_reference.
    The base models are tables, not views (the staging default): the stg view,
    audit.quarantine and audit.batch_outcomes read the classification, which
    takes window functions over every landed version. -#}
{% macro validated_landed_versions(raw_table, required, timestamps, rules=[], reference=none) -%}
{%- set landed = 'landed_' ~ raw_table.split('__')[1] -%}
with

{{ landed }} as (

    {{ landed_source_rows(raw_table) }}

),

organizations as (

    select * from {{ ref('base_app__organizations') }}

),

tenants as (

    {{ known_tenants('organizations') }}

),
{%- if reference %}
{%- set referenced = reference['model'].split('__')[1] %}
{%- set entity = reference['entity'] %}
{%- set id_column = reference.get('id_column', 'id') %}

{{ referenced }} as (

    select * from {{ ref(reference['model']) }}

),

known_{{ entity }}s as (

    -- every {{ entity }} id landed at the as-of date in each tenant, whatever its status
    select distinct
        tenant_id as {{ entity }}_tenant_id,
        {{ id_column }} as known_{{ entity }}_id
    from {{ referenced }}
    where {{ id_column }} is not null

),
{%- endif %}

{{ validate_and_classify_landed(landed, raw_table, required, timestamps, rules, reference, entity) }}

select * from final
{%- endmacro %}
