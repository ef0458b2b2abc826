{#- The query of a base_ staging model over a mutable source table, incremental:
    on a full refresh (or the first build) exactly validated_landed_versions;
    on an incremental run only the ids whose rows can differ from the table's,
    each with every landed version visible at the as-of date, classified as a
    full build classifies them (delete+insert on id; rows without an id are
    deleted by the pre-hook delete_keyless_landed_rows and all emitted again).

    The run knows the table's last build from the table itself and the batches
    (base_audit__batch_windows), never from the run's instant, so a model whose
    inputs did not change is still left out (meridian.transform.selection):
    - changed batches of this table: those with rows but none in the table
      (new), and those whose window ends after the latest updated_at the table
      holds that hold fewer rows in it than they landed (rows invisible at the
      last build: an extraction key at or after its instant, before the
      window's end); their visible rows are read again from raw (_batch_id);
    - rows of the organizations and of the referenced table the last build may
      not have seen: those of batches loaded at or after the table's latest
      batch (every batch loaded after the build is among them), and those with
      an extraction key after the latest updated_at the table holds (which
      lies before the build's instant);
    - ids to rebuild: those of the changed batches' rows; those of the
      table's rows in a tenant whose known organization (existence, currency)
      may differ from what the last build saw (a changed organization row whose
      currency is not the tenant's, or a tenant without an unchanged row);
      those referencing an id that a changed batch of the referenced table
      holds in the same tenant (orphan_reference can clear).
    Every lookup is an index range keyed by those batches, tenants or ids
    (indexes on id, _batch_id, updated_at, tenant_id and the reference column:
    the model's config), except rows without an id (source ids are primary
    keys; their copies are numbered together by content, so all are read again
    from raw). Arguments as validated_landed_versions. -#}
{% macro changed_landed_versions(raw_table, required, timestamps, rules=[], reference=none) -%}
{#- the incremental branch's inputs, recorded when the project is parsed (that branch is not rendered then) -#}
{%- if not execute %}
-- depends_on: {{ ref('base_audit__batch_windows') }}
{%- if reference %}
-- depends_on: {{ source('raw', reference['model'][5:]) }}
{%- endif %}
{%- endif %}
{% if not is_incremental() -%}
{{ validated_landed_versions(raw_table, required, timestamps, rules, reference) }}
{%- else -%}
{%- set source_name, table_name = raw_table.split('__') -%}
{%- set landed = 'landed_' ~ table_name -%}
with

batches as (

    select * from {{ ref('base_audit__batch_windows') }}

),

-- this table's batches that have rows in it (an index probe per batch)
built_batches as materialized (

    select
        batches.batch_id,
        batches.loaded_at
    from batches
    where
        batches.source = '{{ source_name }}'
        and batches.table_name = '{{ table_name }}'
        and exists (
            select 1 from {{ this }} as built
            where built._batch_id = batches.batch_id
        )

),

last_build as materialized (

    select
        coalesce(max(built_batches.loaded_at), '-infinity') as loaded_at,
        coalesce((select max(built.updated_at) from {{ this }} as built), '-infinity') as updated_at
    from built_batches

),

changed_batches as materialized (

    select batches.batch_id
    from batches
    left join built_batches
        on batches.batch_id = built_batches.batch_id
    where
        batches.source = '{{ source_name }}'
        and batches.table_name = '{{ table_name }}'
        and batches.landed > 0
        and (
            built_batches.batch_id is null
            or (
                batches.window_end > (select last_build.updated_at from last_build)
                and batches.landed > (
                    select count(*) from {{ this }} as built
                    where built._batch_id = batches.batch_id
                )
            )
        )

),

changed_rows as (

    {{ landed_source_rows(raw_table) }}
        and _batch_id = any(array(select changed_batches.batch_id from changed_batches))

),

organizations as (

    select * from {{ ref('base_app__organizations') }}

),

tenants as (

    {{ known_tenants('organizations') }}

),

-- each organization version, and whether the last build saw it: landed in a batch loaded before the table's
-- latest one, with an extraction key at or before the latest the table holds (before the build's instant)
organization_versions as (

    select
        organizations.*,
        coalesce(
            batches.loaded_at < (select last_build.loaded_at from last_build)
            and (
                organizations.updated_at <= (select last_build.updated_at from last_build)
                or organizations.updated_at is null
            ),
            false
        ) as is_seen
    from organizations
    left join batches
        on organizations._batch_id = batches.batch_id

),

unchanged_organizations as (

    select * from organization_versions
    where is_seen

),

unchanged_tenants as (

    {{ known_tenants('unchanged_organizations') }}

),

-- a tenant whose known organization may have changed: the last build saw a version between the unchanged
-- rows' latest and the changed rows, so it is unchanged only when all of those agree with the current one
changed_tenants as (

    select distinct organization_versions.id as tenant_id
    from organization_versions
    left join tenants
        on organization_versions.id = tenants.known_tenant_id
    left join unchanged_tenants
        on organization_versions.id = unchanged_tenants.known_tenant_id
    where
        not organization_versions.is_seen
        and organization_versions.id is not null
        and organization_versions.id <> ''
        and (
            unchanged_tenants.known_tenant_id is null
            or organization_versions.currency is distinct from tenants.tenant_currency
            or unchanged_tenants.tenant_currency is distinct from tenants.tenant_currency
        )

),
{%- if reference %}
{%- set referenced = reference['model'].split('__')[1] %}
{%- set referenced_source, referenced_table = reference['model'][5:].split('__') %}
{%- set entity = reference['entity'] %}
{%- set id_column = reference.get('id_column', 'id') %}
{%- set referenced_key = 'updated_at' if 'updated_at' in source_columns(reference['model'][5:]) else 'received_at' %}

{{ referenced }} as (

    select * from {{ ref(reference['model']) }}

),

-- the {{ entity }} ids landed since the last build in their tenants (rows naming them may stop being orphans;
-- an id landed before keeps them as they are): those of batches loaded at or after the table's latest, and
-- those of earlier batches with an extraction key after the latest the table holds
{#- the two reads of the referenced table: (batch condition, extra row condition) -#}
{%- set referenced_reads = [
    ('batches.loaded_at >= (select last_build.loaded_at from last_build)', none),
    (
        'batches.window_end > (select last_build.updated_at from last_build)',
        'referenced_rows.' ~ referenced_key ~ ' > (select last_build.updated_at from last_build)',
    ),
] %}
changed_known_{{ entity }}s as materialized (
{% for batch_condition, row_condition in referenced_reads %}
    {%- if not loop.first %}

    union
{% endif %}
    select
        referenced_rows.tenant_id,
        referenced_rows.{{ id_column }} as {{ entity }}_id
    from {{ source('raw', referenced_source ~ '__' ~ referenced_table) }} as referenced_rows
    where
        referenced_rows._batch_id = any(array(
            select batches.batch_id
            from batches
            where
                batches.source = '{{ referenced_source }}'
                and batches.table_name = '{{ referenced_table }}'
                and {{ batch_condition }}
        ))
        {%- if row_condition %}
        and {{ row_condition }}
        {%- endif %}
        and referenced_rows.{{ id_column }} is not null
{% endfor %}
),
{%- endif %}

ids_to_build as materialized (

    select changed_rows.id
    from changed_rows
    where changed_rows.id is not null

    union

    select built.id
    from {{ this }} as built
    where
        built.tenant_id = any(array(select changed_tenants.tenant_id from changed_tenants))
        and built.id is not null
    {%- if reference %}

    union

    select built.id
    from {{ this }} as built
    inner join changed_known_{{ entity }}s
        on built.tenant_id = changed_known_{{ entity }}s.tenant_id
        and built.{{ entity }}_id = changed_known_{{ entity }}s.{{ entity }}_id
    where
        built.{{ entity }}_id = any(array(select changed_known_{{ entity }}s.{{ entity }}_id from changed_known_{{ entity }}s))
        and built.id is not null
    {%- endif %}

),

-- every landed version of those ids visible at the as-of date: the table's rows of unchanged batches and
-- the changed batches' rows; and every row without an id
{{ landed }} as (

    select
        {{ source_columns(raw_table) | join(',\n        ') }},
        _batch_id,
        _loaded_at
    from {{ this }} as built
    where
        built.id = any(array(select ids_to_build.id from ids_to_build))
        and not (built._batch_id = any(array(select changed_batches.batch_id from changed_batches)))

    union all

    select * from changed_rows
    where changed_rows.id is not null

    union all

    {{ landed_source_rows(raw_table) }}
        and id is null

),
{%- if reference %}

known_{{ entity }}s as (

    -- the referenced ids of those rows landed at the as-of date in each tenant, whatever their status
    select distinct
        tenant_id as {{ entity }}_tenant_id,
        {{ id_column }} as known_{{ entity }}_id
    from {{ referenced }}
    where {{ id_column }} = any(array(select distinct {{ landed }}.{{ entity }}_id from {{ landed }}))

),
{%- endif %}

{{ validate_and_classify_landed(landed, raw_table, required, timestamps, rules, reference, entity) }}

select * from final
{%- endif %}
{%- endmacro %}

