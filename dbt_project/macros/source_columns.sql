{#- The source columns of a raw table, in order, exactly as SOURCES.md and
    include/meridian/sources/schema.py (TABLES) list them. One list used by the
    base models (select, row hash), the quarantine record and the stg models. -#}
{% macro source_columns(raw_table) -%}
    {%- set columns = {
        'app__organizations': ['id', 'tenant_id', 'name', 'currency', 'created_at', 'updated_at'],
        'app__users': ['id', 'tenant_id', 'email', 'signup_at', 'platform', 'country', 'acquisition_channel', 'deleted_at', 'updated_at'],
        'app__events': ['id', 'tenant_id', 'user_id', 'session_id', 'event_type', 'properties', 'platform', 'app_version', 'country', 'occurred_at', 'received_at'],
        'billing__plans': ['id', 'tenant_id', 'name', 'billing_interval', 'amount_cents', 'currency', 'updated_at'],
        'billing__subscription_events': ['id', 'tenant_id', 'subscription_id', 'user_id', 'event_type', 'status', 'plan_id', 'quantity', 'occurred_at', 'received_at'],
        'billing__payments': ['id', 'tenant_id', 'user_id', 'invoice_id', 'subscription_id', 'amount_cents', 'currency', 'method', 'status', 'failure_reason', 'attempt_number', 'resource', 'created_at', 'settled_at', 'updated_at'],
        'billing__refunds': ['id', 'tenant_id', 'payment_id', 'amount_cents', 'reason', 'created_at', 'updated_at'],
        'billing__webhook_deliveries': ['id', 'tenant_id', 'event_type', 'endpoint', 'status', 'attempts', 'response_ms', 'created_at', 'delivered_at', 'updated_at'],
        'crm__sales_reps': ['id', 'tenant_id', 'name', 'email', 'updated_at'],
        'crm__leads': ['id', 'tenant_id', 'owner_id', 'source', 'status', 'score', 'created_at', 'first_contact_at', 'qualified_at', 'converted_at', 'updated_at'],
        'crm__proposals': ['id', 'tenant_id', 'lead_id', 'owner_id', 'amount_cents', 'win_probability', 'status', 'created_at', 'sent_at', 'decided_at', 'updated_at'],
        'crm__customers': ['id', 'tenant_id', 'lead_id', 'name', 'segment', 'status', 'health_score', 'created_at', 'churned_at', 'updated_at'],
        'games__tournaments': ['id', 'tenant_id', 'name', 'format', 'status', 'entry_fee_cents', 'created_at', 'started_at', 'ended_at', 'updated_at'],
        'games__tournament_entries': ['id', 'tenant_id', 'tournament_id', 'user_id', 'registered_at', 'placement', 'updated_at'],
    } -%}
    {%- if raw_table not in columns -%}
        {{ exceptions.raise_compiler_error("source_columns: no source table '" ~ raw_table ~ "' (expected <source>__<table> as in SOURCES.md)") }}
    {%- endif -%}
    {{ return(columns[raw_table]) }}
{%- endmacro %}
