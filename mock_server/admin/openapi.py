"""Routes of the admin API, declared once: the flask rule, the JSON Schema of the
body or query string (validated by the route), and what the OpenAPI 3.1
document says about it."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

PREFIX = "/_mock"


class BadRequest(Exception):
    """A request the admin API refuses: answered 400 with every problem."""

    def __init__(self, error: str, problems: list[dict[str, str]] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.problems = problems or []


@dataclass
class Route:
    rule: str  # flask rule under PREFIX, e.g. "/faults/<int:rule_id>"
    method: str
    summary: str
    tag: str
    body: dict[str, Any] | None = None
    query: dict[str, Any] | None = None
    body_required: bool = True
    responses: dict[str, str] = field(default_factory=dict)
    validator: Draft202012Validator | None = None
    query_validator: Draft202012Validator | None = None

    @property
    def path(self) -> str:
        """The OpenAPI path: ``/_mock/faults/{rule_id}``."""
        return PREFIX + re.sub(r"<(?:[a-z]+:)?([A-Za-z_]+)>", r"{\1}", self.rule)

    @property
    def path_params(self) -> list[tuple[str, str]]:
        return [
            (name, conv or "string")
            for conv, name in re.findall(r"<(?:([a-z]+):)?([A-Za-z_]+)>", self.rule)
        ]


def _path(error: ValidationError, root: str) -> str:
    return root + "".join(
        f"[{p!r}]" if isinstance(p, str) else f"[{p}]" for p in error.absolute_path
    )


def _closest_branch(error: ValidationError) -> list[ValidationError]:
    """The errors of the oneOf/anyOf alternative the instance fits best: the one with
    the fewest structural mismatches (missing or unexpected properties, wrong type)
    at its top, then the fewest errors."""
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    depth = len(error.absolute_path)

    def score(errors: list[ValidationError]) -> tuple[int, int]:
        structural = sum(
            1
            for e in errors
            if len(e.absolute_path) == depth
            and e.validator in ("required", "additionalProperties", "type")
        )
        return structural, len(errors)

    if not branches:
        return [best_match([error])]
    return sorted(branches.values(), key=score)[0]


def problems_of(
    validator: Draft202012Validator, instance: Any, root: str = "$"
) -> list[dict[str, str]]:
    problems = []
    for error in sorted(
        validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]
    ):
        if error.validator in ("oneOf", "anyOf") and error.context:
            # Say what is wrong with the alternative that came closest, not just "not valid under any".
            for sub in _closest_branch(error):
                problems.append({"path": _path(sub, root), "message": sub.message})
        else:
            problems.append({"path": _path(error, root), "message": error.message})
    return problems


def json_body(route: Route) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        if route.body_required and route.body is not None and route.body.get("required"):
            raise BadRequest("a JSON body is required", [{"path": "$", "message": "empty body"}])
        return {}
    try:
        return request.get_json(force=True, silent=False)
    except Exception:  # noqa: BLE001 - werkzeug raises its own BadRequest for bad JSON
        raise BadRequest(
            "the body is not valid JSON", [{"path": "$", "message": "not JSON"}]
        ) from None


def api(
    bp: Blueprint, routes: list[Route], rule: str, method: str, summary: str, tag: str, **kw: Any
) -> Callable[..., Any]:
    """Register a view on ``bp`` and in ``routes``. The view receives the validated body
    (``body=``) and/or query (``query=``) as keyword arguments."""
    route = Route(rule=rule, method=method, summary=summary, tag=tag, **kw)
    if route.body is not None:
        route.validator = Draft202012Validator(route.body)
    if route.query is not None:
        route.query_validator = Draft202012Validator(route.query)
    routes.append(route)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(**path_args: Any) -> Any:
            extra: dict[str, Any] = {}
            if route.validator is not None:
                data = json_body(route)
                problems = problems_of(route.validator, data)
                if problems:
                    raise BadRequest("the JSON body does not match the schema", problems)
                extra["body"] = data
            if route.query_validator is not None:
                query = {k: v for k, v in request.args.items()}
                problems = problems_of(route.query_validator, query, root="?")
                if problems:
                    raise BadRequest("the query string does not match the schema", problems)
                extra["query"] = query
            return view(**path_args, **extra)

        wrapper.__name__ = f"{view.__name__}_{method.lower()}"
        bp.add_url_rule(rule, endpoint=wrapper.__name__, view_func=wrapper, methods=[method])
        return wrapper

    return decorate


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "problems": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
        "required": ["error"],
    }


def document(routes: list[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        op: dict[str, Any] = {
            "summary": r.summary,
            "tags": [r.tag],
            "operationId": f"{r.method.lower()}_{re.sub(r'[^A-Za-z0-9]+', '_', r.rule).strip('_') or 'root'}",
            "responses": {
                code: {
                    "description": text,
                    "content": {
                        "application/json": {"schema": _error_schema() if code[0] in "45" else {}}
                    },
                }
                for code, text in {
                    "200": "OK",
                    **r.responses,
                    "400": "invalid request: every problem, with its JSON path",
                    "403": "not a loopback caller, or no/wrong bearer token",
                }.items()
            },
        }
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer"} if conv == "int" else {"type": "string"},
            }
            for name, conv in r.path_params
        ]
        if r.query is not None:
            params.extend(
                {
                    "name": name,
                    "in": "query",
                    "required": name in r.query.get("required", []),
                    "schema": schema,
                }
                for name, schema in r.query["properties"].items()
            )
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {
                "required": bool(r.body_required and r.body.get("required")),
                "content": {"application/json": {"schema": r.body}},
            }
        paths.setdefault(r.path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "s360-mock control plane",
            "version": "1",
            "description": "Drive the S-360 simulator: clock, rate limits, fault injection, request "
            "journal, invariants audit, snapshots, catalog changes and availability scenarios. "
            "See docs/control-plane.md.",
        },
        "security": [{}, {"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }
