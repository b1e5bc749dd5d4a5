"""The S-360 integration rules, checked on a request journal.

Each rule is a function ``rule(entries, config, context) -> list[Violation]``
over the journal entries of ONE partner (``GET /_mock/journal``, oldest first),
returning the entries that break it, each with an explanation. The thresholds
are in :class:`RuleConfig`; what the journal cannot tell (the point of sales'
payment methods, clock jumps made by a test harness) is in :class:`RuleContext`.

======  ==========================================================================
R1      the full catalog is fetched again only after getLastSetupUpdate changed
        (or once its copy is ``catalog_max_age_s`` old)
R2      each availability method at most once per ``availability_min_interval_s``;
        the same performances are not polled again within ``refresh_window_s``
        without a getUpdatedAvailabilities in between (monitoring uses it)
R3      no order for a performance without a successful availability check of it
        in the ``check_max_age_s`` before
R4      getPOSConfig before the first order; the point of sales and the payment
        method used come from it
R5      every created order is closed or cancelled before it expires
R6      after a rate-limited reply, no call to that operation before Retry-After
R7      closeOrder's amount equals the order total
R8      a retry after a lost reply does not create a second order
======  ==========================================================================

A journal entry is the dict the control plane answers: ``id``, ``timeMs``,
``operation``, ``params`` (every leaf of the request by name; repeated names as
lists), ``outcome``, ``httpStatus``, ``result`` (key fields of the reply:
``orderId``, ``orderState``, ``totalAmount``, ``statusCode``, ``retryAfter``,
``replyLost``, …).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

AVAILABILITY_METHODS = (
    "getProductAvailability",
    "getEventAvailability",
    "getPerformanceAvailability",
    "getSeatsAvailability",
)
RULE_TITLES = {
    "R1": "catalog fetched again only after getLastSetupUpdate changed (or once a day)",
    "R2": "availability methods at most once a minute; monitoring uses getUpdatedAvailabilities",
    "R3": "an availability check of the performance shortly before each order",
    "R4": "getPOSConfig before the first order; point of sales and payment method from it",
    "R5": "every created order closed or cancelled before it expires",
    "R6": "no call to a rate-limited operation before Retry-After has passed",
    "R7": "closeOrder amount equals the order total",
    "R8": "a retry after a lost reply does not create a second order",
}
ALL_RULES = tuple(RULE_TITLES)


@dataclass
class RuleConfig:
    """Thresholds, in seconds of the journal's (virtual) clock."""

    rules: tuple[str, ...] = ALL_RULES
    catalog_max_age_s: float = 24 * 3600
    availability_min_interval_s: float = 60
    refresh_window_s: float = 3600  # 0: do not require getUpdatedAvailabilities
    check_max_age_s: float = 300
    order_expiry_s: float = 15 * 60  # the POS's orderAbandonDelay
    retry_after_default_s: float = 1  # when a rate-limited entry carries no retryAfter
    retry_after_tolerance_s: float = 0  # a test clock's granularity
    retry_after_scope: str = "operation"  # or "partner": no call at all before Retry-After


@dataclass
class RuleContext:
    """What the journal alone does not say (all optional)."""

    pos_id: int | None = None
    payment_methods: set[int] | None = None  # those the POS accepts for closeOrder
    performance_events: dict[int, int] = field(default_factory=dict)
    performance_products: dict[int, int] = field(default_factory=dict)
    setup_changes_ms: list[int] = field(default_factory=list)  # when the setup changed
    # (from_ms, to_ms, ...): a test harness moved the clock forward
    clock_jumps: list[tuple[int, ...]] = field(default_factory=list)


@dataclass
class Violation:
    rule: str
    entry: dict[str, Any]
    explanation: str

    def __str__(self) -> str:
        e = self.entry
        return f"{self.rule} at #{e.get('id')} {e.get('time', '')} {e.get('operation')}: {self.explanation}"


@dataclass
class RuleResult:
    rule: str
    title: str
    violations: list[Violation]

    @property
    def passed(self) -> bool:
        return not self.violations


@dataclass
class RuleReport:
    results: list[RuleResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed_rules(self) -> list[str]:
        return [r.rule for r in self.results if not r.passed]

    @property
    def violations(self) -> list[Violation]:
        return [v for r in self.results for v in r.violations]

    def text(self, limit: int = 5) -> str:
        lines = []
        for r in self.results:
            lines.append(f"{r.rule} {'pass' if r.passed else 'FAIL'}  {r.title}")
            for v in r.violations[:limit]:
                lines.append(
                    f"     #{v.entry.get('id')} {v.entry.get('operation')}: {v.explanation}"
                )
            if len(r.violations) > limit:
                lines.append(f"     … and {len(r.violations) - limit} more")
        return "\n".join(lines)


# --- helpers ------------------------------------------------------------------------------------
def values(entry: dict[str, Any], name: str) -> list[str]:
    """Every value of a request parameter (the journal keeps repeated names as lists)."""
    value = (entry.get("params") or {}).get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def ints(entry: dict[str, Any], name: str) -> list[int]:
    out = []
    for v in values(entry, name):
        try:
            out.append(int(v))
        except ValueError:
            continue
    return out


def first_int(entry: dict[str, Any], name: str) -> int | None:
    found = ints(entry, name)
    return found[0] if found else None


def result(entry: dict[str, Any]) -> dict[str, Any]:
    return entry.get("result") or {}


def answered(entry: dict[str, Any]) -> bool:
    """The client received a success reply."""
    return (
        entry.get("outcome") == "success"
        and entry.get("httpStatus") == 200
        and not result(entry).get("replyLost")
    )


def committed(entry: dict[str, Any]) -> bool:
    """The operation succeeded on the server, whether or not the reply arrived."""
    return entry.get("outcome") == "success"


def reply_lost(entry: dict[str, Any]) -> bool:
    return committed(entry) and (
        bool(result(entry).get("replyLost")) or entry.get("httpStatus") != 200
    )


def rate_limited(entry: dict[str, Any]) -> bool:
    return entry.get("outcome") == "rate-limited" or entry.get("httpStatus") in (429, 509)


def t(entry: dict[str, Any]) -> int:
    return int(entry.get("timeMs") or 0)


def of(entries: Iterable[dict[str, Any]], *operations: str) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("operation") in operations]


def is_new_order(entry: dict[str, Any]) -> bool:
    return entry.get("operation") == "createOrUpdateOrder" and not values(entry, "orderId")


# --- the rules ------------------------------------------------------------------------------------
def rule_r1(entries: list[dict[str, Any]], cfg: RuleConfig, ctx: RuleContext) -> list[Violation]:
    """A getCatalogDetailed after a successful one is allowed only when a getLastSetupUpdate
    in between answered a later lastUpdate than was known at that fetch, or when the
    fetched copy is catalog_max_age_s old."""
    found = []
    last_fetch: dict[str, Any] | None = None
    known_at_fetch: Any = None
    latest_known: Any = None  # the latest setup version the client was told

    def version(entry: dict[str, Any]) -> Any:
        answer = result(entry).get("lastUpdate")
        if answer is not None:
            return str(answer)
        return sum(1 for s in ctx.setup_changes_ms if s <= t(entry))

    for e in entries:
        op = e.get("operation")
        if op == "getLastSetupUpdate" and answered(e):
            latest_known = version(e)
        elif op == "getCatalogDetailed":
            if last_fetch is not None:
                age = (t(e) - t(last_fetch)) / 1000
                changed = latest_known is not None and latest_known != known_at_fetch
                if not changed and age < cfg.catalog_max_age_s:
                    found.append(
                        Violation(
                            "R1",
                            e,
                            f"catalog fetched again {age:.0f} s after the fetch #{last_fetch['id']} "
                            "while getLastSetupUpdate reported no change"
                            + ("" if latest_known is not None else " (it was not asked)"),
                        )
                    )
            if answered(e):
                last_fetch = e
                known_at_fetch = latest_known if latest_known is not None else version(e)
                latest_known = known_at_fetch
    return found


def _targets(entry: dict[str, Any]) -> set[tuple[str, int]]:
    kinds = {
        "performanceIds": "performance",
        "performanceId": "performance",
        "eventIds": "event",
        "productIds": "product",
    }
    return {(kind, i) for name, kind in kinds.items() for i in ints(entry, name)}


def rule_r2(entries: list[dict[str, Any]], cfg: RuleConfig, ctx: RuleContext) -> list[Violation]:
    found = []
    last_success: dict[str, dict[str, Any]] = {}
    history: list[dict[str, Any]] = []  # successful availability calls
    updated: list[int] = []  # times of successful getUpdatedAvailabilities
    in_progress: set[str] = set()  # operations whose last admitted call answered in_progress
    for e in entries:
        op = e.get("operation")
        if op == "getUpdatedAvailabilities":
            if answered(e):
                updated.append(t(e))
            continue
        if op not in AVAILABILITY_METHODS:
            continue
        if op in in_progress:  # the protocol's follow-up call, not a new poll
            if e.get("outcome") != "in_progress" and not rate_limited(e):
                in_progress.discard(op)
                if answered(e):
                    last_success[op] = e
                    history.append(e)
            continue
        previous = last_success.get(op)
        if previous is not None:
            gap = (t(e) - t(previous)) / 1000
            if gap < cfg.availability_min_interval_s:
                found.append(
                    Violation(
                        "R2",
                        e,
                        f"{op} called {gap:.0f} s after its call #{previous['id']} "
                        f"(at most once per {cfg.availability_min_interval_s:g} s)",
                    )
                )
                continue
        if cfg.refresh_window_s > 0:
            mine = _targets(e)
            for h in reversed(history):
                gap = (t(e) - t(h)) / 1000
                if gap >= cfg.refresh_window_s:
                    break
                if h.get("operation") == op and mine & _targets(h):
                    if not any(t(h) < u <= t(e) for u in updated):
                        found.append(
                            Violation(
                                "R2",
                                e,
                                f"{op} polled the same ids again {gap:.0f} s after #{h['id']} "
                                "without asking getUpdatedAvailabilities what changed",
                            )
                        )
                    break
        if e.get("outcome") == "in_progress":
            in_progress.add(op)
        if answered(e):
            last_success[op] = e
            history.append(e)
    return found


def _covers(check: dict[str, Any], perf: int, ctx: RuleContext) -> bool:
    op = check.get("operation")
    if op == "getPerformanceAvailability":
        return perf in ints(check, "performanceIds")
    if op == "getSeatsAvailability":
        return perf in ints(check, "performanceId")
    if op == "getEventAvailability":
        if perf in ints(check, "performanceIds"):
            return True
        event = ctx.performance_events.get(perf)
        return (
            event is not None
            and event in ints(check, "eventIds")
            and not values(check, "performanceIds")
        )
    if op == "getProductAvailability":
        product = ctx.performance_products.get(perf)
        return product is not None and product in ints(check, "productIds")
    return False


def rule_r3(entries: list[dict[str, Any]], cfg: RuleConfig, ctx: RuleContext) -> list[Violation]:
    found = []
    checks = [e for e in entries if e.get("operation") in AVAILABILITY_METHODS and answered(e)]
    updates = [
        e for e in entries if e.get("operation") == "getUpdatedAvailabilities" and answered(e)
    ]
    window = cfg.check_max_age_s * 1000

    def age(c: dict[str, Any], e: dict[str, Any]) -> int:  # harness clock jumps excluded
        return t(e) - t(c) - jumped(ctx, c, e)

    for e in of(entries, "createOrUpdateOrder"):
        for perf in sorted(set(ints(e, "performanceId"))):
            recent = [c for c in checks if 0 <= age(c, e) <= window and c["id"] < e["id"]]
            if any(_covers(c, perf, ctx) for c in recent):
                continue
            # A recent getUpdatedAvailabilities refreshes an older check of the performance.
            product = ctx.performance_products.get(perf)
            refresh = [
                u
                for u in updates
                if 0 <= age(u, e) <= window
                and u["id"] < e["id"]
                and (not values(u, "productIds") or product in ints(u, "productIds"))
            ]
            older = [
                c
                for c in checks
                if c["id"] < e["id"]
                and _covers(c, perf, ctx)
                and (cfg.refresh_window_s <= 0 or age(c, e) <= cfg.refresh_window_s * 1000)
            ]
            if refresh and older:
                continue
            last = [c for c in checks if c["id"] < e["id"] and _covers(c, perf, ctx)]
            why = (
                f"the last check of it was #{last[-1]['id']}, {age(last[-1], e) / 1000:.0f} s before"
                if last
                else "no successful availability check of it before"
            )
            found.append(
                Violation(
                    "R3",
                    e,
                    f"order for performance {perf}: {why} "
                    f"(needed within {cfg.check_max_age_s:g} s)",
                )
            )
    return found


def rule_r4(entries: list[dict[str, Any]], cfg: RuleConfig, ctx: RuleContext) -> list[Violation]:
    found = []
    pos_seen = False
    for e in entries:
        op = e.get("operation")
        if op == "getPOSConfig" and answered(e):
            pos_seen = True
        elif op == "createOrUpdateOrder":
            if not pos_seen:
                found.append(Violation("R4", e, "order before any successful getPOSConfig"))
            pos = first_int(e, "pointOfSalesId")
            if ctx.pos_id is not None and pos is not None and pos != ctx.pos_id:
                found.append(
                    Violation(
                        "R4",
                        e,
                        f"pointOfSalesId {pos} is not the one getPOSConfig gives ({ctx.pos_id})",
                    )
                )
            elif e.get("outcome") == "error.pos.unknown":
                found.append(Violation("R4", e, "pointOfSalesId refused: not from getPOSConfig"))
        elif op == "closeOrder":
            methods = ints(e, "paymentMethodId")
            if ctx.payment_methods is not None:
                bad = [m for m in methods if m not in ctx.payment_methods]
                if bad:
                    found.append(
                        Violation(
                            "R4",
                            e,
                            f"payment method {bad} not among the POS's {sorted(ctx.payment_methods)}",
                        )
                    )
                    continue
            if e.get("outcome") == "error.payment.method":
                found.append(Violation("R4", e, "payment method refused: not from getPOSConfig"))
            elif methods and not pos_seen:
                found.append(Violation("R4", e, "payment method used without getPOSConfig"))
    return found


def _order_endings(entries: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The first entry that ended each order (closed, cancelled or abandoned as a whole)."""
    ended: dict[int, dict[str, Any]] = {}
    for e in entries:
        op = e.get("operation")
        order_id = first_int(e, "orderId")
        if order_id is None or order_id in ended or not committed(e):
            continue
        state = result(e).get("orderState")
        whole = not (values(e, "operationIds") or values(e, "movementIds"))
        closed = op == "closeOrder" and state in (None, "CLOSED")
        gone = op in ("cancelOperations", "abandonMovements", "createOrUpdateOrder") and state in (
            "CANCELLED",
            "ABANDONED",
        )
        if closed or gone or (op == "cancelOperations" and state is None and whole):
            ended[order_id] = e
    return ended


def jumped(ctx: RuleContext, first: dict[str, Any], last: dict[str, Any]) -> int:
    """Milliseconds a test harness moved the clock forward between two entries."""
    total = 0
    for jump in ctx.clock_jumps:
        begin, stop = jump[0], jump[1]
        # A call that arrived after the jump has a time >= its end (the clock only moves
        # forward); one that arrived before has a time < its end.
        if t(first) < stop <= t(last):
            total += stop - begin
    return total


def _duplicates(
    entries: list[dict[str, Any]], cfg: RuleConfig, ctx: RuleContext
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(lost create, second order) pairs: R8's evidence. A lost order that expired before
    the retry is gone: the retry rightly makes a new one."""
    pairs = []
    creates = [e for e in entries if is_new_order(e) and committed(e)]
    ended = _order_endings(entries)
    for lost in creates:
        if not reply_lost(lost):
            continue
        lost_id = result(lost).get("orderId")
        lost_ref = values(lost, "externalReference")
        for later in creates:
            if later["id"] <= lost["id"]:
                continue
            end = ended.get(lost_id) if lost_id is not None else None
            if end is not None and end["id"] < later["id"]:
                break  # the lost order was dealt with first: a new purchase
            expiry = t(lost) + int(cfg.order_expiry_s * 1000)
            if t(later) >= expiry or any(j[0] < expiry <= j[1] for j in ctx.clock_jumps):
                break
            later_id = result(later).get("orderId")
            if lost_id is not None and later_id is not None:
                if later_id != lost_id:
                    pairs.append((lost, later))
                    break
            elif not lost_ref or values(later, "externalReference") != lost_ref:
                pairs.append((lost, later))
                break
    return pairs


def rule_r5(entries: list[dict[str, Any]], cfg: RuleConfig, ctx: RuleContext) -> list[Violation]:
    found = []
    ended = _order_endings(entries)
    orphans = {result(lost).get("orderId") for lost, _ in _duplicates(entries, cfg, ctx)}  # R8's
    seen: set[int] = set()
    for e in entries:
        if not (is_new_order(e) and committed(e)):
            continue
        order_id = result(e).get("orderId")
        if order_id is None or order_id in seen or order_id in orphans:
            continue
        seen.add(order_id)
        expiry = t(e) + int(cfg.order_expiry_s * 1000)
        end = ended.get(order_id)
        if end is not None and t(end) < expiry:
            continue
        if any(j[0] < expiry <= j[1] for j in ctx.clock_jumps):
            continue  # the harness moved the clock past the expiry: not the client's doing
        if end is None:
            why = "never closed nor cancelled"
        else:
            why = f"ended by #{end['id']} {(t(end) - t(e)) / 1000:.0f} s after creation, too late"
        found.append(
            Violation(
                "R5",
                e,
                f"order {order_id} {why} (it expires {cfg.order_expiry_s:g} s after creation)",
            )
        )
    return found


def rule_r6(entries: list[dict[str, Any]], cfg: RuleConfig, ctx: RuleContext) -> list[Violation]:
    found = []
    blocks: list[tuple[dict[str, Any], int]] = []  # (rate-limited entry, until ms)
    for e in entries:
        for limited, until in blocks:
            same = cfg.retry_after_scope == "partner" or (
                limited.get("operation") == e.get("operation")
                and limited.get("service") == e.get("service")
            )
            if same and t(e) + cfg.retry_after_tolerance_s * 1000 < until:
                wait = (until - t(limited)) / 1000
                found.append(
                    Violation(
                        "R6",
                        e,
                        f"called {(t(e) - t(limited)) / 1000:.0f} s after the rate-limited call "
                        f"#{limited['id']}, which said Retry-After {wait:g} s",
                    )
                )
                break
        if rate_limited(e):
            retry = result(e).get("retryAfter")
            wait = float(retry) if retry is not None else cfg.retry_after_default_s
            blocks.append((e, t(e) + int(wait * 1000)))
    return found


def rule_r7(entries: list[dict[str, Any]], cfg: RuleConfig, ctx: RuleContext) -> list[Violation]:
    found = []
    totals: dict[int, int] = {}
    for e in entries:
        op = e.get("operation")
        if op == "createOrUpdateOrder" and committed(e):
            order_id, total = result(e).get("orderId"), result(e).get("totalAmount")
            if order_id is not None and total is not None:
                totals[int(order_id)] = int(total)
        elif op == "closeOrder":
            order_id = first_int(e, "orderId")
            total = totals.get(order_id) if order_id is not None else None
            stated = first_int(e, "totalAmount")
            paid = ints(e, "amount")
            if e.get("outcome") == "error.order.amount":
                found.append(
                    Violation(
                        "R7", e, f"closeOrder refused: amount {stated} is not the order total"
                    )
                )
            elif stated is None and not paid:
                found.append(
                    Violation("R7", e, "closeOrder without totalAmount: amount not verified")
                )
            elif total is not None and stated is not None and stated != total:
                found.append(
                    Violation("R7", e, f"totalAmount {stated} but the order total is {total}")
                )
            elif total is not None and paid and sum(paid) != total:
                found.append(
                    Violation(
                        "R7", e, f"payments add up to {sum(paid)} but the order total is {total}"
                    )
                )
    return found


def rule_r8(entries: list[dict[str, Any]], cfg: RuleConfig, ctx: RuleContext) -> list[Violation]:
    found = []
    for lost, later in _duplicates(entries, cfg, ctx):
        lost_id = result(lost).get("orderId")
        found.append(
            Violation(
                "R8",
                later,
                f"a second order {result(later).get('orderId')} after the reply of #{lost['id']} "
                f"(order {lost_id}, externalReference {values(lost, 'externalReference') or None}) "
                f"was lost; retry with the same externalReference "
                f"(sent {values(later, 'externalReference') or None})",
            )
        )
    return found


RULES: dict[str, Callable[[list[dict[str, Any]], RuleConfig, RuleContext], list[Violation]]] = {
    "R1": rule_r1,
    "R2": rule_r2,
    "R3": rule_r3,
    "R4": rule_r4,
    "R5": rule_r5,
    "R6": rule_r6,
    "R7": rule_r7,
    "R8": rule_r8,
}


def check_rules(
    entries: list[dict[str, Any]],
    config: RuleConfig | None = None,
    context: RuleContext | None = None,
) -> RuleReport:
    """Run every configured rule on ``entries`` (one partner's calls, oldest first)."""
    config = config or RuleConfig()
    context = context or RuleContext()
    ordered = sorted(entries, key=lambda e: e.get("id", 0))
    return RuleReport(
        [RuleResult(r, RULE_TITLES[r], RULES[r](ordered, config, context)) for r in config.rules]
    )
