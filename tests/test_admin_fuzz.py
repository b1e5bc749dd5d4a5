"""Property: whatever it is sent, the admin API answers JSON and never a 5xx.

Requests are generated from the OpenAPI document the API serves (its request
schemas turned into hypothesis strategies), mixed with random junk bodies,
query strings, methods and paths, and sent over real HTTP.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mock_server.admin import schemas
from mock_server.testing import simulator_fixture

mock = simulator_fixture()

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
instants = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 12, 31)).map(
    lambda d: d.isoformat() + "Z"
)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A strategy for (mostly) valid instances of the subset of JSON Schema the API uses."""
    if schema is schemas.INSTANT:
        return st.one_of(instants, st.from_regex(schema["pattern"], fullmatch=True))
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return st.one_of([from_schema(s) for s in schema[key]])
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "object":
        return _objects(schema)
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(
            min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 30), 30)
        )
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**40)), schema.get("maximum", 2**40))
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1e9))
        high = schema.get("maximum", 1e9)
        return st.floats(
            low, high, allow_nan=False, exclude_min="exclusiveMinimum" in schema
        ) | st.integers(int(low) + 1, int(high))
    if kind == "array":
        return st.lists(
            from_schema(schema.get("items", {})),
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 4), 4),
        )
    if kind == "boolean":
        return st.booleans()
    return json_values


def _objects(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    props = schema.get("properties", {})
    required = [k for k in schema.get("required", []) if k in props]
    base: st.SearchStrategy[dict[str, Any]]
    extra = schema.get("additionalProperties")
    if not props and isinstance(extra, dict):
        names = schema.get("propertyNames", {}).get("pattern", "^[a-z]{2}$")
        base = st.dictionaries(
            st.from_regex(names, fullmatch=True),
            from_schema(extra),
            min_size=schema.get("minProperties", 0),
            max_size=3,
        )
    else:
        base = st.fixed_dictionaries(
            {k: from_schema(props[k]) for k in required},
            optional={k: from_schema(v) for k, v in props.items() if k not in required},
        )
    branches = [b for b in schema.get("allOf", []) if "if" in b and "then" in b]
    if not branches:
        return base

    def complete(instance: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        for branch in branches:
            if Draft202012Validator(branch["if"]).is_valid(instance):
                then = {k: v for k, v in branch["then"].items() if k != "additionalProperties"}
                return _objects({"type": "object", **then}).map(lambda more: {**more, **instance})
        return st.just(instance)

    return base.flatmap(complete)


def path_values(name: str) -> st.SearchStrategy[str]:
    if name == "rule_id":
        return st.one_of(st.integers(-5, 10**25).map(str), st.sampled_from(["1", "2", "x", "1.5"]))
    return st.one_of(
        st.sampled_from(["s1", "snap", "a.b", "..", "-x", "%2e%2e"]),
        st.text(max_size=20).map(lambda t: quote(t, safe="")),
    )


@st.composite
def admin_requests(draw: st.DrawFn, doc: dict[str, Any]) -> tuple[str, str, dict[str, str], Any]:
    if draw(st.integers(0, 9)) == 0:  # a junk path
        return (
            draw(st.sampled_from(METHODS)),
            "/_mock/" + quote(draw(st.text(max_size=25))),
            {},
            None,
        )
    path = draw(st.sampled_from(sorted(doc["paths"])))
    ops = doc["paths"][path]
    method = draw(
        st.sampled_from(sorted(ops)) if draw(st.integers(0, 9)) else st.sampled_from(METHODS)
    ).upper()
    op = ops.get(method.lower(), {})
    url = re.sub(r"\{(\w+)\}", lambda m: draw(path_values(m.group(1))), path)
    query: dict[str, str] = {}
    for p in op.get("parameters", []):
        if p["in"] == "query" and draw(st.booleans()):
            value = draw(st.one_of(from_schema(p["schema"]), st.text(max_size=15)))
            query[p["name"]] = str(value)
    if draw(st.integers(0, 9)) == 0:
        query[draw(st.text(min_size=1, max_size=8))] = draw(st.text(max_size=8))
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    choice = draw(st.integers(0, 9))
    if schema is not None and choice < 7:
        body: Any = json.dumps(draw(from_schema(schema))).encode()
    elif choice < 9:
        body = json.dumps(draw(json_values)).encode()
    else:
        body = draw(st.binary(max_size=40))
    return method, url, query, body


def test_the_admin_api_never_answers_5xx(mock):
    doc = mock.admin.openapi()
    session = requests.Session()
    seen: dict[int, int] = {}

    @settings(
        max_examples=max(
            150, settings.default.max_examples
        ),  # more with HYPOTHESIS_PROFILE=thorough
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
        ],
    )
    @given(admin_requests(doc))
    def check(req: tuple[str, str, dict[str, str], Any]) -> None:
        method, url, query, body = req
        r = session.request(
            method,
            mock.base_url + url,
            params=query,
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        seen[r.status_code] = seen.get(r.status_code, 0) + 1
        assert r.status_code < 500, (method, url, query, body, r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/json"), r.headers
        assert isinstance(r.json(), dict)

    check()
    # the generator reaches past validation, not only into 400s
    assert seen.get(200, 0) + seen.get(201, 0) >= 20, seen
    assert seen.get(400, 0) >= 10, seen
