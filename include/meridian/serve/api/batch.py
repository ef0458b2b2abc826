"""One statement per request for the KPI and analytics endpoints: their queries run as the sections of one select.

A handler names its queries (name → :class:`Query`) and :func:`run` sends them as a single statement: each query
becomes a scalar subquery aggregating its rows to JSON text (``json_agg`` over the query, which keeps its order),
so a request costs one round trip to the warehouse instead of one per query; every query keeps its own plan
(an uncorrelated scalar subquery is an init plan) and so its index range read. The rows come back as dicts
with the values psycopg2 gives for the same columns: the columns' types are learnt once per query text and
process and transform run (``select * from (query) limit 0``, one extra round trip the first time: a run that
changes a mart's columns is seen by the next request), and each JSON value is
turned back into that type (numeric as Decimal from its exact text, integers as int, dates, timestamps...).
A query with a column of another type runs on its own as before (nothing is approximated).

Each query's parameters are its own (renamed per section); ``%(tenant)s`` and ``%(as_of)s`` are shared.
A ``currency`` section (:data:`CURRENCY`) also answers ``ctx.currency`` without a query of its own.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from meridian.serve.api.endpoint import Context

# False: every query runs as its own statement, as before (tests compare both ways byte for byte)
ONE_STATEMENT = True

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
SHARED = ("tenant", "as_of")


@dataclass(frozen=True)
class Query:
    sql: str
    params: dict[str, Any] = field(default_factory=dict)


CURRENCY = Query("select currency from marts.dim_tenants where tenant_id = %(tenant)s")


def _number(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _timestamp(value: Any) -> datetime:
    return datetime.fromisoformat(value)


# PostgreSQL type oid -> JSON value to the value psycopg2 gives for that column (numbers arrive as Decimal)
DECODERS = {
    16: lambda value: value,  # bool
    20: int, 21: int, 23: int, 26: int,  # int8, int2, int4, oid
    700: float, 701: float,  # float4, float8 (float(Decimal(text)) is the float of that text)
    1700: _number,  # numeric
    18: str, 19: str, 25: str, 1042: str, 1043: str,  # char, name, text, bpchar, varchar
    1082: date.fromisoformat,  # date
    1114: _timestamp, 1184: _timestamp,  # timestamp, timestamptz (the API's sessions run in UTC)
}

_columns: dict[str, tuple[tuple[str, int], ...]] = {}  # query text -> its columns, for the run in _run_token
_run_token = [""]
_lock = threading.Lock()


def _renamed(index: int, query: Query) -> tuple[str, dict[str, Any]]:
    """The query's SQL and parameters with its own placeholders prefixed by its section number."""
    def rename(match: re.Match) -> str:
        name = match.group(1)
        return match.group(0) if name in SHARED else f"%(s{index}_{name})s"

    return PLACEHOLDER.sub(rename, query.sql), {f"s{index}_{name}": value for name, value in query.params.items()
                                                 if name not in SHARED}


def _describe(ctx: Context, query: Query) -> tuple[tuple[str, int], ...]:
    run = getattr(ctx.extra.get("run"), "token", "")
    with _lock:
        if run != _run_token[0]:  # a new transform run may have rebuilt a mart with other columns
            _columns.clear()
            _run_token[0] = run
        known = _columns.get(query.sql)
    if known is None:
        ctx.cur.execute(f"select * from ({query.sql}) as described limit 0",
                        {"tenant": ctx.tenant_id, "as_of": ctx.as_of, **query.params})
        known = tuple((column.name, column.type_code) for column in ctx.cur.description)
        with _lock:
            _columns[query.sql] = known
    return known


def _decode(text: str, columns: tuple[tuple[str, int], ...]) -> list[dict]:
    rows = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    decoders = [(name, DECODERS[oid]) for name, oid in columns]
    out = []
    for row in rows:
        if list(row) != [name for name, _ in columns]:
            raise ValueError(f"the columns changed since they were learnt: {list(row)}")
        out.append({name: None if value is None else decode(value)
                    for (name, decode), value in zip(decoders, row.values(), strict=True)})
    return out


def run(ctx: Context, queries: dict[str, Query]) -> dict[str, list[dict]]:
    """The rows of every query (name → rows), from one statement."""
    if not ONE_STATEMENT:
        found = {name: ctx.rows(query.sql, query.params) for name, query in queries.items()}
    else:
        found = {}
        sections, params, kinds = [], {}, {}
        for index, (name, query) in enumerate(queries.items()):
            columns = _describe(ctx, query)
            if not all(oid in DECODERS for _, oid in columns) or len({n for n, _ in columns}) != len(columns):
                found[name] = ctx.rows(query.sql, query.params)
                continue
            sql, own = _renamed(index, query)
            sections.append(f"(select coalesce(json_agg(section), '[]'::json) from ({sql}) as section)::text "
                            f"as s{index}")
            params.update(own)
            kinds[f"s{index}"] = (name, columns)
        if sections:
            row = ctx.one("select " + ", ".join(sections), params)
            for key, text in row.items():
                name, columns = kinds[key]
                try:
                    found[name] = _decode(text, columns)
                except ValueError:  # a mart rebuilt with other columns outside a recorded run: learn them again
                    with _lock:
                        _columns.pop(queries[name].sql, None)
                    found[name] = ctx.rows(queries[name].sql, queries[name].params)
        found = {name: found[name] for name in queries}
    for name, query in queries.items():
        if query is CURRENCY:
            ctx.__dict__["currency"] = found[name][0]["currency"] if found[name] else None
    return found


def first(rows: list[dict]) -> dict:
    """The first row, or an empty dict (as ``Context.one``)."""
    return rows[0] if rows else {}
