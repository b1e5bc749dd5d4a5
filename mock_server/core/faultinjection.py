"""Fault injection: make a call fail the way integrations break.

A *rule* matches calls by service, operation and partner login (each optional),
fires for the next ``times`` matching calls (or every one) and, optionally, only
with a ``probability``. What it does is its *action*:

==============  =======================================================================
``latency``     sleep ``ms`` (real time, at most 30 s) before the operation; the call
                then proceeds (several latency rules add up).
``fault``       a SOAP 1.1 Fault ``faultCode`` / ``faultString`` (HTTP ``httpStatus``,
                default 500); the operation does not run.
``http``        an HTTP error status (with a SOAP Fault body); the operation does not run.
``status``      the operation's own result type with ``statusCode`` (an S-360 error
                status); the operation does not run.
``in_progress`` the result with ``statusCode = in_progress`` and a ``requestId``; the
                operation does not run.
``drop``        the connection is closed without a reply; the operation does not run.
``reply_lost``  the operation runs and commits, then the reply is lost: the connection
                is dropped (``then: drop``, default) or an HTTP 500 is answered
                (``then: http``). Retries then meet the platform's idempotency.
``checkpoint``  arms a named point in the domain code (:func:`checkpoint`): when the
                call reaches it, it fails there, after what came before was committed.
==============  =======================================================================

Rules live in the store (``control_fault_rule``) so that every worker process
sharing a state file applies them; a rule is consumed (``times``) in the same
write transaction that admits the call. A probability draw is reproducible: the
n-th call matching a rule fires iff ``Random(f"{seed}:{n}").random() < probability``.

Named checkpoints
-----------------
Domain code calls ``checkpoint("closeOrder.after_payment")`` at a point where a
real back office can fail between two commits. It costs nothing when no rule is
armed. Known points (see docs/control-plane.md):

* ``closeOrder.after_payment``: the payment is booked, the barcodes are not issued.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, select, update

from mock_server.core.errors import ClientFault
from mock_server.store.control_schema import control_fault_rule as rule_table
from mock_server.store.store import inserted_id

MAX_LATENCY_MS = 30_000
KNOWN_CHECKPOINTS = {
    "closeOrder.after_payment": "ExternalOrderService.closeOrder: the payment is booked on the "
    "pending account, the tickets and barcodes are not issued yet",
}

BEFORE_TERMINAL = ("fault", "http", "status", "in_progress", "drop")
ACTION_TYPES = ("latency", *BEFORE_TERMINAL, "reply_lost", "checkpoint")

_CODE = {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9._-]{0,127}$"}
_TEXT = {"type": "string", "maxLength": 2000}
_HTTP_ERROR = {"type": "integer", "minimum": 400, "maximum": 599}
_STATUS_CODE = {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"^\S+$"}
_NAME = {"type": "string", "minLength": 1, "maxLength": 128}


def _branch(kind: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
        "then": {
            "properties": {"type": {"const": kind}, **properties},
            "required": ["type", *required],
            "additionalProperties": False,
        },
    }


ACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "What the rule does to a matching call.",
    "properties": {"type": {"enum": list(ACTION_TYPES)}},
    "required": ["type"],
    "allOf": [
        _branch(
            "latency", {"ms": {"type": "integer", "minimum": 0, "maximum": MAX_LATENCY_MS}}, ["ms"]
        ),
        _branch("fault", {"faultCode": _CODE, "faultString": _TEXT, "httpStatus": _HTTP_ERROR}, []),
        _branch(
            "http",
            {"httpStatus": _HTTP_ERROR, "faultCode": _CODE, "faultString": _TEXT},
            ["httpStatus"],
        ),
        _branch("status", {"statusCode": _STATUS_CODE, "statusDetail": _TEXT}, ["statusCode"]),
        _branch("in_progress", {"requestId": {"type": "string", "maxLength": 128}}, []),
        _branch("drop", {}, []),
        _branch("reply_lost", {"then": {"enum": ["drop", "http"]}, "httpStatus": _HTTP_ERROR}, []),
        _branch(
            "checkpoint",
            {
                "name": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$"},
                "faultCode": _CODE,
                "faultString": _TEXT,
                "statusCode": _STATUS_CODE,
                "statusDetail": _TEXT,
            },
            ["name"],
        ),
    ],
}

RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A fault-injection rule.",
    "properties": {
        "service": {**_NAME, "description": "S-360 service name, e.g. AvailabilityService"},
        "operation": {**_NAME, "description": "operation name, e.g. getPerformanceAvailability"},
        "partner": {**_NAME, "description": "partner login, e.g. DEMO_PARTNER1"},
        "times": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
        "probability": {"type": "number", "minimum": 0, "maximum": 1},
        "seed": {"type": "integer", "minimum": -(2**53), "maximum": 2**53},
        "description": {"type": "string", "maxLength": 500},
        "action": ACTION_SCHEMA,
    },
    "required": ["action"],
    "additionalProperties": False,
}


# --- errors raised at a checkpoint (mapped by the SOAP layer like any domain error) ---------
class InjectedFault(ClientFault):
    """An injected SOAP fault (the code is the rule's, ``Server.InjectedFault`` by default)."""

    def __init__(self, message: str, fault_code: str = "Server.InjectedFault") -> None:
        super().__init__(message)
        self.fault_code = fault_code


class InjectedStatus(Exception):  # noqa: N818 - named like the S-360 thing it injects
    """An injected S-360 result status (the operation's own result type, as for an
    :class:`~mock_server.core.errors.S360Error`; not a subclass, so that the list
    of the simulator's own status codes stays what the domain answers)."""

    def __init__(self, status_code: str, detail: str, request_id: str | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.request_id = request_id


# --- rules -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FaultRule:
    id: int
    spec: dict[str, Any]

    @property
    def action(self) -> dict[str, Any]:
        result: dict[str, Any] = self.spec["action"]
        return result

    @property
    def kind(self) -> str:
        return str(self.action["type"])

    def matches(self, service: str, operation: str, partner: str) -> bool:
        s = self.spec
        return (
            s.get("service") in (None, service)
            and s.get("operation") in (None, operation)
            and s.get("partner") in (None, partner)
        )


@dataclass
class Decision:
    """What the fault rules do to one call (decided when the call is admitted)."""

    latency_ms: int = 0
    before: dict[str, Any] | None = None  # a terminal action instead of the operation
    after: dict[str, Any] | None = None  # reply_lost
    checkpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    fired: list[dict[str, Any]] = field(default_factory=list)  # [{"ruleId", "type"}]

    @property
    def empty(self) -> bool:
        return not self.fired


def add_rule(conn: Connection, spec: dict[str, Any], now_ms: int) -> int:
    rule_id = inserted_id(
        conn.execute(
            rule_table.insert().values(
                spec=spec, remaining=spec.get("times"), matched=0, fired=0, created_ms=now_ms
            )
        )
    )
    return int(rule_id)


def delete_rule(conn: Connection, rule_id: int) -> bool:
    return bool(conn.execute(delete(rule_table).where(rule_table.c.id == rule_id)).rowcount)


def clear_rules(conn: Connection) -> int:
    return int(conn.execute(delete(rule_table)).rowcount or 0)


def active_rules(conn: Connection) -> list[FaultRule]:
    """Rules that can still fire, in the order they were added."""
    rows = conn.execute(
        select(rule_table.c.id, rule_table.c.spec)
        .where((rule_table.c.remaining.is_(None)) | (rule_table.c.remaining > 0))
        .order_by(rule_table.c.id)
    )
    return [FaultRule(r.id, r.spec) for r in rows]


def list_rules(conn: Connection) -> list[dict[str, Any]]:
    return [rule_json(r) for r in conn.execute(select(rule_table).order_by(rule_table.c.id))]


def get_rule(conn: Connection, rule_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(rule_table).where(rule_table.c.id == rule_id)).first()
    return rule_json(row) if row is not None else None


def rule_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        **row.spec,
        "remaining": row.remaining,
        "matched": row.matched,
        "fired": row.fired,
        "exhausted": row.remaining is not None and row.remaining <= 0,
    }


def _draw(seed: int, n: int, probability: float) -> bool:
    if probability >= 1:
        return True
    if probability <= 0:
        return False
    return random.Random(f"{seed}:{n}").random() < probability


def decide(conn: Connection, candidates: list[FaultRule]) -> tuple[Decision, set[int]]:
    """Consume the candidate rules (in order) for one call, in the caller's write
    transaction. Returns the decision and the ids of rules now exhausted or gone."""
    decision = Decision()
    gone: set[int] = set()
    terminal = False
    for rule in candidates:
        kind = rule.kind
        exclusive = kind in BEFORE_TERMINAL or kind == "reply_lost"
        if exclusive and terminal:
            continue  # a rule added earlier already decides this call's fate
        if kind == "checkpoint" and rule.action["name"] in decision.checkpoints:
            continue
        row = conn.execute(
            select(rule_table.c.remaining, rule_table.c.matched).where(rule_table.c.id == rule.id)
        ).first()
        if row is None or (row.remaining is not None and row.remaining <= 0):
            gone.add(rule.id)
            continue
        matched = row.matched + 1
        fire = _draw(int(rule.spec.get("seed", 0)), matched, float(rule.spec.get("probability", 1)))
        values: dict[str, Any] = {"matched": matched}
        if fire:
            values["fired"] = rule_table.c.fired + 1
            if row.remaining is not None:
                values["remaining"] = row.remaining - 1
                if row.remaining - 1 <= 0:
                    gone.add(rule.id)
        conn.execute(update(rule_table).where(rule_table.c.id == rule.id).values(**values))
        if not fire:
            continue
        action = rule.action
        decision.fired.append({"ruleId": rule.id, "type": kind})
        if kind == "latency":
            decision.latency_ms = min(MAX_LATENCY_MS, decision.latency_ms + int(action["ms"]))
        elif kind == "checkpoint":
            decision.checkpoints[action["name"]] = {**action, "ruleId": rule.id}
        elif kind == "reply_lost":
            decision.after = {**action, "ruleId": rule.id}
            terminal = True
        else:
            decision.before = {**action, "ruleId": rule.id}
            terminal = True
    return decision, gone


# --- the call in progress, for checkpoints -------------------------------------------------------
@dataclass
class CallScope:
    service: str
    operation: str
    partner: str
    checkpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    replace_result: InjectedStatus | None = None  # answer this instead of running the operation
    reached: list[str] = field(default_factory=list)


_current: ContextVar[CallScope | None] = ContextVar("s360_call_scope", default=None)


def current_scope() -> CallScope | None:
    return _current.get()


@contextmanager
def call_scope(scope: CallScope) -> Iterator[CallScope]:
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def checkpoint(name: str) -> None:
    """A named point where the domain code can be made to fail (fault injection).

    Does nothing unless a ``checkpoint`` rule with this ``name`` fired for the
    SOAP call in progress; then raises :class:`InjectedFault` (a SOAP fault,
    ``Server.InjectedFault`` unless the rule says otherwise) or, if the rule has
    a ``statusCode``, :class:`InjectedStatus` (the operation's result with that
    status). Whatever was committed before the checkpoint stays committed.
    """
    scope = _current.get()
    if scope is None or not scope.checkpoints:
        return
    action = scope.checkpoints.pop(name, None)
    if action is None:
        return
    scope.reached.append(name)
    message = (
        action.get("faultString")
        or action.get("statusDetail")
        or f"fault injected at checkpoint {name}"
    )
    if action.get("statusCode"):
        raise InjectedStatus(action["statusCode"], message)
    raise InjectedFault(message, action.get("faultCode") or "Server.InjectedFault")
