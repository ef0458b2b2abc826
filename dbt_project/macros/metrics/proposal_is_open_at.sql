{#- True when a proposal is open (a draft or sent, not yet decided) at an
    instant. Staging keeps only each proposal's latest version, so its state at
    an earlier instant is derived from its timestamps: it is open at `instant`
    when it was created before it (created_at < instant) and either is still
    undecided (status draft or sent, whatever decided_at says) or was decided
    at or after it (status accepted, rejected or expired with decided_at >=
    instant). A decided proposal without decided_at has no known decision time
    and is never counted open. relation_alias qualifies the columns. -#}
{% macro proposal_is_open_at(instant, relation_alias=none) -%}
    {%- set prefix = relation_alias ~ '.' if relation_alias else '' -%}
    (
        {{ prefix }}created_at < {{ instant }}
        and (
            {{ prefix }}status in ('draft', 'sent')
            or coalesce({{ prefix }}decided_at >= {{ instant }}, false)
        )
    )
{%- endmacro %}
