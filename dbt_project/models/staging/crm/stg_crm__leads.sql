{#-
    One row per crm.leads id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _crm__models.yml.
-#}
with

base_leads as (

    select * from {{ ref('base_crm__leads') }}

),

current_leads as (

    -- the latest accepted version of each id
    select * from base_leads
    where is_current

),

final as (

    select
        cast(id as text) as id,
        cast(tenant_id as text) as tenant_id,
        cast(owner_id as text) as owner_id,
        cast(source as text) as source,
        cast(status as text) as status,
        cast(score as integer) as score,
        cast(created_at as timestamptz) as created_at,
        cast(first_contact_at as timestamptz) as first_contact_at,
        cast(qualified_at as timestamptz) as qualified_at,
        cast(converted_at as timestamptz) as converted_at,
        cast(updated_at as timestamptz) as updated_at
    from current_leads

)

select * from final
