"""Fuzzing the JSON API from its OpenAPI document: no 5xx, every error a JSON message."""
import json
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webmap.openapi import document

DOC = document()
OPERATIONS = [(path, method, op) for path, item in DOC["paths"].items()
              for method, op in item.items()]
FUZZED = {"requests": 0}


@pytest.fixture(scope="module", autouse=True)
def report_count(request):
    """Say how many requests the module sent (shown with -s)."""
    yield
    print(f"\n[fuzz] {FUZZED['requests']} requests sent from the OpenAPI document")

JUNK = st.one_of(st.text(max_size=40), st.integers(-10**12, 10**12),
                 st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
                 st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5),
                                                                      st.integers(), max_size=2))


def value_for(schema: dict):
    """Plausible values of the schema's type, mixed with anything at all."""
    kind = schema.get("type")
    options = []
    if "enum" in schema:
        options.append(st.sampled_from(schema["enum"]))
    if kind == "integer":
        options.append(st.integers(-5, 2000))
    elif kind == "number":
        options += [st.floats(107.48, 107.52), st.floats(31.23, 31.26),
                    st.floats(allow_nan=True, allow_infinity=True)]
    elif kind == "string":
        options += [st.text(max_size=30), st.just("")]
        if "example" in schema:
            options.append(st.just(schema["example"]))
    elif kind == "array":
        options.append(st.lists(st.integers(1, 20), max_size=4))
    options.append(JUNK)
    return st.one_of(options)


def body_for(op: dict):
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        ref = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        props = DOC["components"]["schemas"][ref]["properties"]
        obj = st.fixed_dictionaries({}, optional={k: value_for(v) for k, v in props.items()})
        return st.one_of(obj.map(lambda d: ("json", d)),
                         st.text(max_size=30).map(lambda t: ("raw", t)),
                         JUNK.map(lambda d: ("json", d)))
    if "multipart/form-data" in content:
        return st.tuples(st.just("multipart"), st.binary(max_size=200), st.text(max_size=10))
    return st.just(None)


def request_for(path: str, op: dict):
    params = op.get("parameters", [])
    path_params = {p["name"]: value_for(p["schema"]) for p in params if p["in"] == "path"}
    query = {p["name"]: value_for(p["schema"]).map(str) for p in params if p["in"] == "query"}
    return st.tuples(st.fixed_dictionaries(path_params),
                     st.fixed_dictionaries({}, optional=query), body_for(op))


@pytest.mark.parametrize("path, method, op", OPERATIONS,
                         ids=[f"{m.upper()} {p}" for p, m, _ in OPERATIONS])
def test_operation_never_fails_with_a_5xx(write_app, path, method, op):
    client = write_app.test_client()
    sent = [0]

    @settings(max_examples=80, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(request_for(path, op))
    def check(req):
        path_values, query, body = req
        url = re.sub(r"\{(\w+)\}", lambda m: quote(str(path_values[m.group(1)]), safe=""),
                     path)
        kwargs = {"query_string": query}
        if body and body[0] == "json":
            kwargs["json"] = body[1]
        elif body and body[0] == "raw":
            kwargs |= {"data": body[1], "content_type": "application/json"}
        elif body and body[0] == "multipart":
            import io
            kwargs |= {"data": {"photo": (io.BytesIO(body[1]), "x.jpg"), "actor": body[2]},
                       "content_type": "multipart/form-data"}
        response = client.open(url, method=method.upper(), **kwargs)
        FUZZED["requests"] += 1
        sent[0] += 1
        assert response.status_code < 500, (url, kwargs, response.data[:300])
        if response.status_code >= 400:
            payload = json.loads(response.data)
            assert isinstance(payload.get("error"), str) and payload["error"], payload

    check()
    # exercised for real: many inputs where there are inputs, once where there are none
    assert sent[0] >= (20 if op.get("parameters") or op.get("requestBody") else 1)


def test_the_document_matches_the_routes(app, client):
    served = client.get("/api/openapi.json").get_json()
    assert served["openapi"].startswith("3.") and served["paths"].keys() == DOC["paths"].keys()
    rules = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        rules.setdefault(path, set()).update(rule.methods)
    for path, method, _ in OPERATIONS:
        assert path in rules, path
        assert method.upper() in rules[path], (path, method)
