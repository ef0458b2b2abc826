{#- The source columns of a raw table (`<source>__<table>`) with their
    PostgreSQL types, in source order, exactly as docs/sources.md and
    include/meridian/sources/schema.py (TABLES) list them: the one copy of the
    source contract in dbt. Fails compilation for an unknown table. -#}
{% macro source_column_types(raw_table) -%}
    {%- set tables = {
        'app__organizations': {'id': 'text', 'tenant_id': 'text', 'name': 'text', 'currency': 'char(3)', 'created_at': 'timestamptz', 'updated_at': 'timestamptz'},
        'app__users': {'id': 'text', 'tenant_id': 'text', 'email': 'text', 'signup_at': 'timestamptz', 'platform': 'text', 'country': 'char(2)', 'acquisition_channel': 'text', 'deleted_at': 'timestamptz', 'updated_at': 'timestamptz'},
        'app__events': {'id': 'text', 'tenant_id': 'text', 'user_id': 'text', 'session_id': 'text', 'event_type': 'text', 'properties': 'jsonb', 'platform': 'text', 'app_version': 'text', 'country': 'char(2)', 'occurred_at': 'timestamptz', 'received_at': 'timestamptz'},
        'billing__plans': {'id': 'text', 'tenant_id': 'text', 'name': 'text', 'billing_interval': 'text', 'amount_cents': 'integer', 'currency': 'char(3)', 'updated_at': 'timestamptz'},
        'billing__subscription_events': {'id': 'text', 'tenant_id': 'text', 'subscription_id': 'text', 'user_id': 'text', 'event_type': 'text', 'status': 'text', 'plan_id': 'text', 'quantity': 'integer', 'occurred_at': 'timestamptz', 'received_at': 'timestamptz'},
        'billing__payments': {'id': 'text', 'tenant_id': 'text', 'user_id': 'text', 'invoice_id': 'text', 'subscription_id': 'text', 'amount_cents': 'integer', 'currency': 'char(3)', 'method': 'text', 'status': 'text', 'failure_reason': 'text', 'attempt_number': 'integer', 'resource': 'text', 'created_at': 'timestamptz', 'settled_at': 'timestamptz', 'updated_at': 'timestamptz'},
        'billing__refunds': {'id': 'text', 'tenant_id': 'text', 'payment_id': 'text', 'amount_cents': 'integer', 'reason': 'text', 'created_at': 'timestamptz', 'updated_at': 'timestamptz'},
        'billing__webhook_deliveries': {'id': 'text', 'tenant_id': 'text', 'event_type': 'text', 'endpoint': 'text', 'status': 'text', 'attempts': 'integer', 'response_ms': 'integer', 'created_at': 'timestamptz', 'delivered_at': 'timestamptz', 'updated_at': 'timestamptz'},
        'crm__sales_reps': {'id': 'text', 'tenant_id': 'text', 'name': 'text', 'email': 'text', 'updated_at': 'timestamptz'},
        'crm__leads': {'id': 'text', 'tenant_id': 'text', 'owner_id': 'text', 'source': 'text', 'status': 'text', 'score': 'integer', 'created_at': 'timestamptz', 'first_contact_at': 'timestamptz', 'qualified_at': 'timestamptz', 'converted_at': 'timestamptz', 'updated_at': 'timestamptz'},
        'crm__proposals': {'id': 'text', 'tenant_id': 'text', 'lead_id': 'text', 'owner_id': 'text', 'amount_cents': 'integer', 'win_probability': 'numeric', 'status': 'text', 'created_at': 'timestamptz', 'sent_at': 'timestamptz', 'decided_at': 'timestamptz', 'updated_at': 'timestamptz'},
        'crm__customers': {'id': 'text', 'tenant_id': 'text', 'lead_id': 'text', 'name': 'text', 'segment': 'text', 'status': 'text', 'health_score': 'integer', 'created_at': 'timestamptz', 'churned_at': 'timestamptz', 'updated_at': 'timestamptz'},
        'crm__marketing_spend': {'id': 'text', 'tenant_id': 'text', 'channel': 'text', 'spend_date': 'date', 'amount_cents': 'bigint', 'currency': 'char(3)', 'updated_at': 'timestamptz'},
        'games__tournaments': {'id': 'text', 'tenant_id': 'text', 'name': 'text', 'format': 'text', 'status': 'text', 'entry_fee_cents': 'integer', 'created_at': 'timestamptz', 'started_at': 'timestamptz', 'ended_at': 'timestamptz', 'updated_at': 'timestamptz'},
        'games__tournament_entries': {'id': 'text', 'tenant_id': 'text', 'tournament_id': 'text', 'user_id': 'text', 'registered_at': 'timestamptz', 'placement': 'integer', 'updated_at': 'timestamptz'},
    } -%}
    {%- if raw_table not in tables -%}
        {{ exceptions.raise_compiler_error("source_column_types: no source table '" ~ raw_table ~ "' (expected <source>__<table> as in docs/sources.md)") }}
    {%- endif -%}
    {{ return(tables[raw_table]) }}
{%- endmacro %}
