"""JSON Schemas (draft 2020-12) of the admin API's request bodies and query strings.

The single source: the views validate with these very objects, and the OpenAPI
document (``/_mock/openapi.json``) embeds them (a test checks both).
"""

from __future__ import annotations

from typing import Any

from mock_server.core.faultinjection import RULE_SCHEMA
from mock_server.core.ratelimit import POLICY_DOCUMENT_SCHEMA
from mock_server.store.snapshots import NAME_PATTERN

INSTANT: dict[str, Any] = {
    "type": "string",
    "description": "ISO 8601 instant with a zone, e.g. 2026-09-01T08:00:00Z",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$",
}
ID: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 2**53}
STATE: dict[str, Any] = {
    "enum": ["PREPARING", "VALIDATED", "RUNNING", "SUSPENDED", "CANCELED", "CLOSED"]
}
TRANSLATIONS: dict[str, Any] = {
    "type": "object",
    "description": 'locale -> text, e.g. {"en": "Hamlet"}',
    "minProperties": 1,
    "maxProperties": 50,
    "propertyNames": {"pattern": "^[a-z]{2,3}([_-][A-Za-z]{2,4})?$"},
    "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 2000},
}


def body(
    properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required or [],
        "additionalProperties": False,
        **extra,
    }


EMPTY = body({}, description="No body, or an empty JSON object.")

CLOCK_SET = body({"time": INSTANT}, ["time"], description="Set the virtual clock (it may go back).")
CLOCK_ADVANCE = body(
    {"seconds": {"type": "number", "minimum": 0, "maximum": 3_153_600_000}},
    ["seconds"],
    description="Move the virtual clock forward.",
)
CLOCK_FREEZE = body({"time": INSTANT}, description="Stop the clock (at `time`, or now).")

RATE_LIMITS_PUT: dict[str, Any] = {
    "description": "A policy document, or a preset.",
    "oneOf": [
        POLICY_DOCUMENT_SCHEMA,
        body(
            {"preset": {"enum": ["s360", "off"]}, "httpStatus": {"enum": [429, 509]}},
            ["preset"],
        ),
    ],
}

FAULT_RULE = RULE_SCHEMA

JOURNAL_SETTINGS = body(
    {"maxEntries": {"type": "integer", "minimum": 0, "maximum": 10_000_000}},
    ["maxEntries"],
    description="Bound of the journal (0: no journal).",
)

_TEXT_FILTER: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 200}
JOURNAL_QUERY = body(
    {
        "partner": {**_TEXT_FILTER, "description": "partner login"},
        "service": _TEXT_FILTER,
        "operation": _TEXT_FILTER,
        "outcome": {
            **_TEXT_FILTER,
            "description": "success, a status code, fault:<code>, rate-limited, dropped; "
            "a trailing * matches a prefix (fault:*)",
        },
        "httpStatus": {"type": "string", "pattern": "^[1-5][0-9]{2}$"},
        "since": INSTANT,
        "until": INSTANT,
        "limit": {
            "type": "string",
            "pattern": "^[0-9]{1,5}$",
            "description": "at most 10000 (default 1000)",
        },
        "order": {"enum": ["asc", "desc"]},
    },
    description="Query string of GET /_mock/journal (every parameter is optional).",
)

SNAPSHOT = body({"name": {"type": "string", "pattern": NAME_PATTERN}}, ["name"])

_SETUP_SEASON = body(
    {"seasonId": ID, "state": STATE, "externalName": TRANSLATIONS},
    ["seasonId"],
)
_SETUP_PRODUCT = body(
    {
        "productId": ID,
        "state": STATE,
        "externalName": TRANSLATIONS,
        "description": TRANSLATIONS,
        "minQuantity": {"type": "integer", "minimum": 1, "maximum": 1000},
        "alertRatio": {"type": "number", "minimum": 0, "maximum": 1},
    },
    ["productId"],
)
_SETUP_PERFORMANCE = body(
    {
        "performanceId": ID,
        "state": STATE,
        "start": INSTANT,
        "durationMinutes": {"type": "integer", "minimum": 1, "maximum": 100_000},
    },
    ["performanceId"],
)
_SETUP_PRICE = body(
    {
        "eventId": ID,
        "seatCategoryId": ID,
        "audienceSubCategoryId": ID,
        "priceLevelId": ID,
        "amount": {"type": "integer", "minimum": 0, "maximum": 2**53},
    },
    ["eventId", "seatCategoryId", "audienceSubCategoryId", "priceLevelId", "amount"],
)
SETUP_CHANGE: dict[str, Any] = {
    "description": "One catalog change: a season, a product, a performance or a price.",
    "oneOf": [_SETUP_SEASON, _SETUP_PRODUCT, _SETUP_PERFORMANCE, _SETUP_PRICE],
}

SELL_OUT = body({"performanceId": ID, "seatCategoryId": ID}, ["performanceId"])
RELEASE = body({"performanceId": ID}, ["performanceId"])
