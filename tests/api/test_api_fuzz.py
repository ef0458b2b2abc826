"""Fuzzing every operation of the OpenAPI document with hypothesis: any parameters, valid or not, never give
a 5xx, and every 4xx is the JSON error envelope naming the parameter at fault."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meridian.serve.api.routes import ENDPOINTS
from tests.api.conftest import auth

GARBAGE = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", "0", "-1", "99999999999", "2026-02-30", "2026-10-31T00:00", "1899-12-31", "3000-01-01",
                     "null", "%00", "'; drop table marts.fct_daily_kpis; --", "2026-13", "NaN", "1e9", "💥"]),
    st.integers(min_value=-10**12, max_value=10**12).map(str),
)


def value_strategy(schema: dict) -> st.SearchStrategy[str]:
    valid: st.SearchStrategy[str]
    if "enum" in schema:
        valid = st.sampled_from(schema["enum"])
    elif schema.get("type") == "integer":
        valid = st.integers(schema.get("minimum", 0), schema.get("maximum", 1000)).map(str)
    elif schema.get("format") == "date":
        valid = st.dates(min_value=__import__("datetime").date(2024, 1, 1),
                         max_value=__import__("datetime").date(2027, 1, 1)).map(lambda day: day.isoformat())
    elif "pattern" in schema:
        valid = st.dates().map(lambda day: day.isoformat()[:7])
    else:
        valid = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
    return st.one_of(valid, valid, GARBAGE)


def operations(document: dict) -> list[tuple[str, list[dict]]]:
    found = []
    for path, item in document["paths"].items():
        operation = item.get("get")
        if operation is None or "{" in path:
            continue
        found.append((path, [p for p in operation.get("parameters", []) if p["in"] == "query"]))
    return found


@pytest.fixture(scope="module")
def document(client):
    return client.get("/api/v1/openapi.json").json()


def check(response, sent: dict[str, str]) -> None:
    assert response.status_code < 500, (sent, response.text)
    if response.status_code == 200:
        if response.headers["content-type"].startswith("application/json"):
            assert response.json()["success"] is True
        else:
            assert response.headers["content-type"].startswith("text/html") and sent.get("format") == "html"
        return
    assert 400 <= response.status_code < 500, response.status_code
    body = response.json()
    assert body["success"] is False
    parameter = body["error"]["parameter"]
    assert parameter and (parameter in sent or parameter == "body"), (sent, body)
    assert parameter in body["error"]["message"] or parameter == "body"


# the GET operations of the document: the endpoints without a path parameter, and /health
OPERATIONS = len([e for e in ENDPOINTS if e.method == "GET" and "{" not in e.path]) + 1


def test_every_query_operation_is_fuzzed(client, document):
    assert len(operations(document)) == OPERATIONS


@pytest.mark.parametrize("index", range(OPERATIONS))
def test_fuzz_query_parameters(client, api_world, document, index):
    path, parameters = operations(document)[index]
    key = api_world["keys"]["acme"]

    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.fixed_dictionaries({}, optional={p["name"]: value_strategy(p["schema"]) for p in parameters}),
           st.dictionaries(st.sampled_from(["x", "foo", "limit2", "_"]), GARBAGE, max_size=1))
    def run(values: dict[str, str], unknown: dict[str, str]) -> None:
        sent = {**values, **unknown}
        response = client.get(f"{path}?{urlencode(sent)}" if sent else path, headers=auth(key))
        check(response, sent)

    run()


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.one_of(
    st.fixed_dictionaries({}, optional={
        "report_type": st.one_of(st.sampled_from(["payments", "executive"]), st.text(max_size=8), st.integers()),
        "formats": st.one_of(st.lists(st.sampled_from(["csv", "html", "doc", ""]), max_size=3), st.text(max_size=5)),
        "start_date": st.one_of(st.dates().map(str), GARBAGE, st.none()),
        "end_date": st.one_of(st.dates().map(str), GARBAGE, st.integers()),
        "email_to": st.one_of(st.lists(st.text(max_size=12), max_size=2), st.none()),
        "other": st.integers(),
    }),
    st.lists(st.integers(), max_size=3),
    st.text(max_size=10),
))
def test_fuzz_report_generation_body(client, api_world, body):
    import json

    response = client.post("/api/v1/analytics/reports/generate", content=json.dumps(body),
                           headers={**auth(api_world["keys"]["acme"]), "Content-Type": "application/json"})
    assert response.status_code < 500, (body, response.text)
    if response.status_code == 202:
        return
    error = response.json()["error"]
    assert error["parameter"] and (error["parameter"] == "body" or error["parameter"] in GENERATE_FIELDS + ["other"])


GENERATE_FIELDS = ["report_type", "formats", "start_date", "end_date", "email_to"]
