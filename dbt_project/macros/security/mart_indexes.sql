{#- The read indexes of the marts, in one place: mart name -> indexes beyond its
    primary key, each with a name, its columns (or expressions) and an optional
    partial-index predicate. They serve the KPI read API's and the BI queries'
    access paths over marts that grow with the data (see docs/api.md): the
    primary keys already lead with tenant_id and the period, so only other
    paths are listed. The API's queries run as tenant roles under row-level
    security, where a qual on an expression such as coalesce(settled_at,
    created_at) is no index condition: settled_at has a plain index for the
    paid-at ranges (meridian.serve.api.one_pass.paid_rows: settled payments by
    settled_at, unsettled ones by created_at). Emitted by
    secure_mart (the marts' post-hook), so a rebuilt or new mart gets them in
    its build transaction.

    An index is named <mart>__<name>__<table oid>: a rebuilt table (a new oid)
    gets its own while the table it replaces, renamed to its backup until the
    build commits, still holds the old ones; an incremental run finds them and
    creates nothing. A table that got new indexes is analyzed too, so the first
    dashboard reads after a build are planned on statistics. -#}
{% macro mart_indexes(relation) -%}
    {%- set paid_at = 'coalesce(settled_at, created_at)' -%}
    {%- set indexes = {
        'fct_payment_attempts': [
            {'name': 'paid_at', 'columns': ['tenant_id', paid_at]},
            {'name': 'settled_at', 'columns': ['tenant_id', 'settled_at']},
            {'name': 'unsettled', 'columns': ['tenant_id', 'created_at'], 'where': 'settled_at is null'},
            {'name': 'pending', 'columns': ['tenant_id', 'created_at'], 'where': "status = 'pending'"},
        ],
        'fct_event_counts_daily': [
            {'name': 'event_type', 'columns': ['tenant_id', 'event_type']},
        ],
        'fct_tournaments_by_period': [
            {'name': 'busiest', 'columns': ['tenant_id', 'period_type', 'tournament_count desc', 'period_start desc']},
        ],
    } -%}
    {%- set wanted = indexes.get(relation.identifier, []) -%}
    {%- if wanted %}
    do $$
    declare
        target regclass := '{{ relation.include(database=false) }}'::regclass;
        created boolean := false;
        index_name text;
    begin
        {%- for index in wanted %}
        index_name := format('%s__%s__%s', '{{ relation.identifier }}', '{{ index.name }}', target::oid);
        if not exists (
            select 1 from pg_index
            inner join pg_class on pg_class.oid = pg_index.indexrelid
            where pg_index.indrelid = target and pg_class.relname = index_name
        ) then
            execute format(
                'create index %I on %s ({{ index.columns | join(", ") }}){{ " where " ~ index.where | replace("'", "''") if index.where }}',
                index_name, target
            );
            created := true;
        end if;
        {%- endfor %}
        if created then
            execute format('analyze %s', target);
        end if;
    end
    $$;
    {%- endif %}
{%- endmacro %}
