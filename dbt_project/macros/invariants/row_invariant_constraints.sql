{#- The model's row invariants as check constraints: one per expression_is_true data test attached
    to the model (without a `where`), `check (coalesce(<expression>, false))`, the test's own
    condition (a null result fails it as well). PostgreSQL then refuses a row that breaks one on
    every write, incremental ones included, so incremental runs need not scan the marts again for
    them (dbt_project/selectors.yml); the tests stay the definition and run in every full refresh
    and in the test suite. Check constraint names are per table: row_invariant_1, _2... in the
    order of the graph. -#}
{% macro row_invariant_constraints(model) -%}
    {%- set checks = [] -%}
    {%- for node in graph.nodes.values()
          if node.resource_type == 'test' and node.attached_node == model.unique_id
          and (node.test_metadata or {}).get('name') == 'expression_is_true'
          and not node.config.get('where') -%}
        {%- set kwargs = node.test_metadata.kwargs -%}
        {%- set column = kwargs.get('column_name') -%}
        {%- do checks.append({
            'type': 'check',
            'name': 'row_invariant_' ~ (checks | length + 1),
            'expression': 'coalesce(' ~ (column ~ ' ' if column else '') ~ kwargs.expression | trim ~ ', false)',
        }) -%}
    {%- endfor -%}
    {{ return(checks) }}
{%- endmacro %}
