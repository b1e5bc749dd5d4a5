"""S-360 rate limits (s360-reference §5), exact on the virtual clock.

A *policy* limits how many calls a partner may make in a sliding window:
``limit`` admitted calls within any ``windowSeconds`` on the virtual clock, per
*key*: the partner alone, the partner and the operation, or the partner, the
operation and its arguments. A call is checked against every policy that
applies to it; it is admitted only if all of them admit it, and then recorded
once per policy key. A refused call is not recorded (only admitted calls count)
and changes nothing else.

The log of admitted calls is a table (``control_rate_hit``), so several worker
processes sharing one state file share the counters; check-and-record runs in
one write transaction (``Store.transaction``: BEGIN IMMEDIATE on SQLite), so two
processes cannot both admit the last call of a window. It is a sliding *log*,
not fixed buckets: a "1 per minute" limit never admits two calls 59.9 s apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import Connection, and_, bindparam, delete, func, or_, select, update

from mock_server.store.control_schema import control_rate_hit as hit
from mock_server.store.control_schema import control_rate_key as rate_key

KEY_PARTNER = "partner"
KEY_OPERATION = "partner+operation"
KEY_ARGUMENTS = "partner+operation+arguments"
KEY_KINDS = (KEY_PARTNER, KEY_OPERATION, KEY_ARGUMENTS)
HTTP_STATUSES = (429, 509)

#: ``Service.operation``, ``operation``, ``Service.*`` or ``*``.
OPERATION_PATTERN = r"^(\*|[A-Za-z][A-Za-z0-9_]{0,127}(\.(\*|[A-Za-z][A-Za-z0-9_]{0,127}))?)$"

POLICY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One rate-limit policy.",
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
        "description": {"type": "string", "maxLength": 500},
        "operations": {
            "type": "array",
            "description": "Operations the policy applies to: 'op', 'Service.op', 'Service.*' or '*'.",
            "items": {"type": "string", "pattern": OPERATION_PATTERN},
            "minItems": 1,
            "maxItems": 100,
        },
        "partners": {
            "type": "array",
            "description": "Only these partner logins (default: every partner).",
            "items": {"type": "string", "minLength": 1, "maxLength": 128},
            "maxItems": 1000,
        },
        "limit": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
        "windowSeconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 604_800},
        "key": {"enum": list(KEY_KINDS)},
        "httpStatus": {"enum": list(HTTP_STATUSES)},
    },
    "required": ["name", "limit", "windowSeconds"],
    "additionalProperties": False,
}

POLICY_DOCUMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A rate-limit policy document (the --rate-limits FILE format).",
    "properties": {
        "httpStatus": {"enum": list(HTTP_STATUSES)},
        "policies": {"type": "array", "items": POLICY_SCHEMA, "maxItems": 100},
    },
    "required": ["policies"],
    "additionalProperties": False,
}

AVAILABILITY_OPERATIONS = [
    "AvailabilityService.getProductAvailability",
    "AvailabilityService.getEventAvailability",
    "AvailabilityService.getPerformanceAvailability",
    "AvailabilityService.getSeatsAvailability",
]

#: The platform's published limits (s360-reference §5); see docs/control-plane.md.
S360_DOCUMENT: dict[str, Any] = {
    "httpStatus": 429,
    "policies": [
        {
            "name": "instance",
            "description": "180 calls per minute per partner, all services and operations together",
            "operations": ["*"],
            "limit": 180,
            "windowSeconds": 60,
            "key": KEY_PARTNER,
        },
        {
            "name": "catalog",
            "description": "getCatalogDetailed: 1 call per 10 minutes",
            "operations": ["CatalogService.getCatalogDetailed"],
            "limit": 1,
            "windowSeconds": 600,
            "key": KEY_OPERATION,
        },
        {
            "name": "availability",
            "description": "each availability method: 1 call per minute",
            "operations": AVAILABILITY_OPERATIONS,
            "limit": 1,
            "windowSeconds": 60,
            "key": KEY_OPERATION,
        },
        {
            "name": "updated-availabilities",
            "description": "getUpdatedAvailabilities is the method to poll: 12 calls per minute [assumed]",
            "operations": ["AvailabilityService.getUpdatedAvailabilities"],
            "limit": 12,
            "windowSeconds": 60,
            "key": KEY_OPERATION,
        },
    ],
}
OFF_DOCUMENT: dict[str, Any] = {"httpStatus": 429, "policies": []}
PRESETS = {"s360": S360_DOCUMENT, "off": OFF_DOCUMENT}

_VALIDATOR = Draft202012Validator(POLICY_DOCUMENT_SCHEMA)


class PolicyError(ValueError):
    """A policy document is invalid: ``problems`` lists (path, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))
        self.problems = problems


@dataclass(frozen=True)
class Policy:
    name: str
    limit: int
    window_ms: int
    key: str = KEY_OPERATION
    operations: tuple[str, ...] = ("*",)
    partners: tuple[str, ...] | None = None
    http_status: int | None = None
    description: str = ""

    def applies(self, service: str, operation: str, partner: str) -> bool:
        if self.partners is not None and partner not in self.partners:
            return False
        return any(_matches(p, service, operation) for p in self.operations)

    def key_for(self, partner: str, service: str, operation: str, digest: Callable[[], str]) -> str:
        if self.key == KEY_PARTNER:
            return f"{self.name}|{partner}"
        if self.key == KEY_OPERATION:
            return f"{self.name}|{partner}|{service}.{operation}"
        return f"{self.name}|{partner}|{service}.{operation}|{digest()}"

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "operations": list(self.operations),
            "limit": self.limit,
            "windowSeconds": _seconds(self.window_ms),
            "key": self.key,
        }
        if self.description:
            doc["description"] = self.description
        if self.partners is not None:
            doc["partners"] = list(self.partners)
        if self.http_status is not None:
            doc["httpStatus"] = self.http_status
        return doc


@dataclass(frozen=True)
class RateLimitConfig:
    policies: tuple[Policy, ...] = ()
    http_status: int = 429

    @property
    def enabled(self) -> bool:
        return bool(self.policies)

    def applicable(self, service: str, operation: str, partner: str) -> list[Policy]:
        return [p for p in self.policies if p.applies(service, operation, partner)]

    def to_json(self) -> dict[str, Any]:
        return {"httpStatus": self.http_status, "policies": [p.to_json() for p in self.policies]}

    def with_status(self, http_status: int | None) -> RateLimitConfig:
        if http_status is None:
            return self
        return RateLimitConfig(self.policies, http_status)

    @classmethod
    def from_json(cls, doc: Any) -> RateLimitConfig:
        problems = [
            (
                "$"
                + "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]" for p in e.absolute_path),
                e.message,
            )
            for e in sorted(
                _VALIDATOR.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))
            )
        ]
        if problems:
            raise PolicyError(problems)
        seen: set[str] = set()
        for i, p in enumerate(doc["policies"]):
            if p["name"] in seen:
                problems.append(
                    (f"$['policies'][{i}]['name']", f"duplicate policy name {p['name']!r}")
                )
            seen.add(p["name"])
        if problems:
            raise PolicyError(problems)
        return cls(
            policies=tuple(
                Policy(
                    name=p["name"],
                    limit=p["limit"],
                    window_ms=int(round(p["windowSeconds"] * 1000)) or 1,
                    key=p.get("key", KEY_OPERATION),
                    operations=tuple(p.get("operations", ["*"])),
                    partners=tuple(p["partners"]) if "partners" in p else None,
                    http_status=p.get("httpStatus"),
                    description=p.get("description", ""),
                )
                for p in doc["policies"]
            ),
            http_status=doc.get("httpStatus", 429),
        )


def preset(name: str) -> RateLimitConfig:
    return RateLimitConfig.from_json(PRESETS[name])


def resolve(spec: str) -> RateLimitConfig:
    """``s360`` | ``off`` | a path to a JSON policy document (``--rate-limits``)."""
    if spec in PRESETS:
        return preset(spec)
    path = Path(spec)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyError([("$", f"cannot read {spec}: {error.strerror}")]) from None
    except json.JSONDecodeError as error:
        raise PolicyError([("$", f"{spec} is not JSON: {error}")]) from None
    return RateLimitConfig.from_json(doc)


def _matches(pattern: str, service: str, operation: str) -> bool:
    if pattern == "*":
        return True
    if "." in pattern:
        svc, op = pattern.split(".", 1)
        return svc == service and (op == "*" or op == operation)
    return pattern == operation


def _seconds(ms: int) -> float | int:
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


# --- the sliding log -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """Why a call is refused and when it may be retried (virtual clock)."""

    policy: Policy
    retry_after_ms: int
    http_status: int
    count: int

    @property
    def retry_after_s(self) -> int:
        """``Retry-After``: whole seconds, rounded up, at least 1."""
        return max(1, math.ceil(self.retry_after_ms / 1000))


@dataclass
class _Check:
    policy: Policy
    key: str
    extra: dict[str, Any] = field(default_factory=dict)


# Statements built once (bound parameters): the per-call cost is the SQL, not the building.
_IN_WINDOW = and_(
    hit.c.key == bindparam("key"), hit.c.at_ms > bindparam("lo"), hit.c.at_ms <= bindparam("now")
)
_EXPIRED = delete(hit).where(hit.c.key == bindparam("key"), hit.c.at_ms <= bindparam("lo"))
_FUTURE = delete(hit).where(hit.c.key == bindparam("key"), hit.c.at_ms > bindparam("now"))
_COUNT = select(rate_key.c.count).where(rate_key.c.key == bindparam("key"))
_SET_COUNT = update(rate_key).where(rate_key.c.key == bindparam("k")).values(count=bindparam("n"))
_NEW_COUNT = rate_key.insert()
_NTH = select(hit.c.at_ms).where(_IN_WINDOW).order_by(hit.c.at_ms).limit(1).offset(bindparam("n"))
_RECORD = hit.insert()


def check_and_record(
    conn: Connection,
    policies: Iterable[Policy],
    *,
    partner: str,
    service: str,
    operation: str,
    digest: Callable[[], str],
    now_ms: int,
    default_status: int = 429,
) -> Rejection | None:
    """In ONE write transaction: refuse the call if any policy is exhausted, else record it.

    A key's window is (now - window, now]. Admitted calls later than ``now``
    (the clock was set back) do not count and are pruned with the expired ones.
    Each key's log is pruned first (index range deletes, usually of 0 or 1 row),
    so its kept count is the number of calls in the window.
    """
    checks = [_Check(p, p.key_for(partner, service, operation, digest)) for p in policies]
    counts: dict[str, tuple[int | None, int]] = {}  # key -> (count stored, count now)
    worst: Rejection | None = None
    for c in checks:
        window = {"key": c.key, "lo": now_ms - c.policy.window_ms, "now": now_ms}
        gone = (conn.execute(_EXPIRED, window).rowcount or 0) + (
            conn.execute(_FUTURE, window).rowcount or 0
        )
        stored = conn.execute(_COUNT, {"key": c.key}).scalar()
        count = max(0, (stored or 0) - gone)
        counts[c.key] = (stored, count)
        if count < c.policy.limit:
            continue
        if c.policy.limit == 0:
            retry = c.policy.window_ms
        else:
            # The call is admitted once the (count - limit + 1)-th oldest call leaves the window.
            pivot = conn.execute(_NTH, {**window, "n": count - c.policy.limit}).scalar_one()
            retry = pivot + c.policy.window_ms - now_ms
        status = c.policy.http_status or default_status
        if worst is None or retry > worst.retry_after_ms:
            worst = Rejection(c.policy, retry, status, count)
    admitted = worst is None
    for key, (stored, count) in counts.items():
        new = count + 1 if admitted else count
        if stored is None:
            if new:
                conn.execute(_NEW_COUNT, {"key": key, "count": new})
        elif new != stored:
            conn.execute(_SET_COUNT, {"k": key, "n": new})
    if not admitted:
        return worst
    conn.execute(
        _RECORD,
        [
            {
                "key": c.key,
                "policy": c.policy.name,
                "partner": partner,
                "operation": None if c.policy.key == KEY_PARTNER else f"{service}.{operation}",
                "at_ms": now_ms,
            }
            for c in checks
        ],
    )
    return None


def prune(conn: Connection, config: RateLimitConfig, now_ms: int) -> int:
    """Delete every recorded call that no policy window still covers (keys no call
    touches any more), and recount the logs."""
    longest = max((p.window_ms for p in config.policies), default=0)
    result = conn.execute(
        delete(hit).where(or_(hit.c.at_ms <= now_ms - longest, hit.c.at_ms > now_ms))
    )
    n = int(result.rowcount or 0)
    if n:
        conn.execute(delete(rate_key))
        conn.execute(
            rate_key.insert().from_select(
                ["key", "count"], select(hit.c.key, func.count()).group_by(hit.c.key)
            )
        )
    return n


def counters(conn: Connection, config: RateLimitConfig, now_ms: int) -> list[dict[str, Any]]:
    """The live counters: one per key with admitted calls inside its policy's window."""
    by_name = {p.name: p for p in config.policies}
    rows = conn.execute(
        select(
            hit.c.key,
            hit.c.policy,
            hit.c.partner,
            hit.c.operation,
            func.count(),
            func.min(hit.c.at_ms),
        )
        .where(hit.c.at_ms <= now_ms)
        .group_by(hit.c.key, hit.c.policy, hit.c.partner, hit.c.operation)
        .order_by(hit.c.key)
    ).all()
    result = []
    for key, policy_name, partner, operation, _count, _oldest in rows:
        policy = by_name.get(policy_name)
        if policy is None:
            continue
        lo = now_ms - policy.window_ms
        times = list(
            conn.execute(
                select(hit.c.at_ms)
                .where(and_(hit.c.key == key, hit.c.at_ms > lo, hit.c.at_ms <= now_ms))
                .order_by(hit.c.at_ms)
            ).scalars()
        )
        if not times:
            continue
        count = len(times)
        retry_ms = 0
        if count >= policy.limit:
            retry_ms = (
                times[count - policy.limit] + policy.window_ms - now_ms
                if policy.limit
                else policy.window_ms
            )
        result.append(
            {
                "policy": policy_name,
                "key": key,
                "partner": partner,
                "operation": operation,
                "count": count,
                "limit": policy.limit,
                "windowSeconds": _seconds(policy.window_ms),
                "oldestMs": times[0],
                "newestMs": times[-1],
                "remaining": max(0, policy.limit - count),
                "retryAfterSeconds": max(1, math.ceil(retry_ms / 1000)) if retry_ms > 0 else 0,
            }
        )
    return result


def reset(conn: Connection) -> int:
    conn.execute(delete(rate_key))
    return int(conn.execute(delete(hit)).rowcount or 0)
