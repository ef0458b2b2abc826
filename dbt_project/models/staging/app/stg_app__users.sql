{#-
    One row per app.users id: its latest accepted version landed by the
    as-of date. Columns and types are the docs/sources.md contract, enforced in
    _app__models.yml.
-#}
with

base_users as (

    select * from {{ ref('base_app__users') }}

),

current_users as (

    -- the latest accepted version of each id
    select * from base_users
    where is_current

),

final as (

    select
        cast(id as text) as id,
        cast(tenant_id as text) as tenant_id,
        cast(email as text) as email,
        cast(signup_at as timestamptz) as signup_at,
        cast(platform as text) as platform,
        cast(country as char(2)) as country,
        cast(acquisition_channel as text) as acquisition_channel,
        cast(deleted_at as timestamptz) as deleted_at,
        cast(updated_at as timestamptz) as updated_at
    from current_users

)

select * from final
