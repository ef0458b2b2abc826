{#- The covering indexes of the read API's payment range reads
    (meridian.serve.api.one_pass): (tenant_id, created_at) with every column
    the created-at range reads take from fct_payment_attempts in its leaf
    pages, so a range of a tenant's payments is an index-only scan of the
    range's index pages instead of a heap page per ~13 rows (the tenants' rows
    interleave, the rows are wide); and the paid-at reads' two ranges
    (one_pass.paid_rows: settled payments by settled_at, unsettled ones by
    created_at) with the columns /payments/customers and the renewals of
    /kpis/revenue take. Index-only once the table's pages are all-visible (a
    vacuum, the autovacuum after a build); until then the planner reads the
    narrower (tenant_id, created_at) index and the heap as before. Named
    <mart>__<name>__<table oid> like mart_indexes: a rebuilt table gets
    its own beside the backup it replaces, an incremental run finds it. -#}
{% macro payment_range_reads_index(relation) -%}
    {%- set paid_columns = 'is_succeeded, user_id, country, payer_first_paid_at, subscription_id, '
        ~ 'subscription_first_paid_at' -%}
    do $$
    declare
        target regclass := '{{ relation.include(database=false) }}'::regclass;
    begin
        execute format(
            'create index if not exists %I on %s (tenant_id, created_at) include (method, status, is_succeeded, '
            'amount, user_id, latency_ms, failure_reason, invoice_id, payment_date, currency, country)',
            format('%s__range_reads__%s', '{{ relation.identifier }}', target::oid), target
        );
        execute format(
            'create index if not exists %I on %s (tenant_id, settled_at) include (created_at, {{ paid_columns }})',
            format('%s__paid_reads_settled__%s', '{{ relation.identifier }}', target::oid), target
        );
        execute format(
            'create index if not exists %I on %s (tenant_id, created_at) include (settled_at, {{ paid_columns }}) '
            'where settled_at is null',
            format('%s__paid_reads_unsettled__%s', '{{ relation.identifier }}', target::oid), target
        );
    end
    $$;
{%- endmacro %}
