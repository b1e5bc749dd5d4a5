"""The invariants audit: checks the store holds a state the platform could be in.

Each check queries for violations directly, even where a constraint should make
them impossible (the partial unique index on live movements, the UNIQUE
barcode): the audit is how a test proves a constraint still holds, and it must
be able to fail (a test plants a violation and sees it reported).

Checks:

* ``seat.double_booked``: a seat in two live (HELD or SOLD) movements of one performance;
* ``movement.venue``: a movement whose seat is not in the performance's venue;
* ``movement.category``: a movement whose seat category is not its seat's;
* ``availability.consistent``: per performance and seat category, capacity - held - sold
  computed by the availability service equals the count of free seats seat by seat, and
  is not negative;
* ``hold.leaked``: a HELD movement in an order that is not OPEN (its seat would never return);
* ``barcode.unique`` / ``barcode.valid``: when tickets exist: barcodes unique, with a valid
  check digit (``core.barcodes.is_valid_barcode``);
* ``order.totals``: when payments exist: a closed order's payments add up to the prices of
  its sold movements.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, exists, func, select

from mock_server.core.availability import AvailabilityReader, live_condition
from mock_server.core.model import Partner
from mock_server.store import Store
from mock_server.store import schema as s

MAX_PER_CHECK = 100  # violations reported per check (the count says how many in all)


@dataclass
class Violation:
    invariant: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AuditReport:
    violations: list[Violation]
    checks: list[str]

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": self.checks,
            "violations": [v.to_json() for v in self.violations],
        }


# A partner only to satisfy the reader; the audit does not look at on-sale levels.
_AUDITOR = Partner(
    id=0,
    login="audit",
    operator_code="AUDIT",
    name="audit",
    point_of_sales_id=0,
    sales_channel_id=0,
)


def audit(store: Store, conn: Connection, now_ms: int) -> AuditReport:
    violations: list[Violation] = []
    checks: list[str] = []

    def run(name: str, found: list[Violation]) -> None:
        checks.append(name)
        violations.extend(found[:MAX_PER_CHECK])
        if len(found) > MAX_PER_CHECK:
            violations.append(Violation(name, f"... and {len(found) - MAX_PER_CHECK} more"))

    run("seat.double_booked", _double_booked(conn))
    run("movement.venue", _wrong_venue(conn))
    run("movement.category", _wrong_category(conn))
    run("availability.consistent", _availability(store, conn, now_ms))
    run("hold.leaked", _leaked_holds(conn))
    tables = s.metadata.tables
    if "ticket" in tables and "barcode" in tables["ticket"].c:
        run("barcode.unique", _duplicate_barcodes(conn, tables["ticket"]))
        try:
            from mock_server.core.barcodes import is_valid_barcode
        except ImportError:  # the sales flow is not there: nothing to check the digits with
            pass
        else:
            run("barcode.valid", _invalid_barcodes(conn, tables["ticket"], is_valid_barcode))
    if "payment" in tables and {"order_id", "amount"} <= set(tables["payment"].c.keys()):
        run("order.totals", _totals(conn, tables["payment"]))
    return AuditReport(violations, checks)


def _double_booked(conn: Connection) -> list[Violation]:
    m = s.movement
    live = m.c.state.in_(["HELD", "SOLD"])
    rows = conn.execute(
        select(m.c.performance_id, m.c.seat_id, func.count())
        .where(live)
        .group_by(m.c.performance_id, m.c.seat_id)
        .having(func.count() > 1)
        .order_by(m.c.performance_id, m.c.seat_id)
        .limit(MAX_PER_CHECK + 1)
    ).all()
    found = []
    for perf, seat, n in rows:
        movement_ids = conn.execute(
            select(m.c.id)
            .where(live, m.c.performance_id == perf, m.c.seat_id == seat)
            .order_by(m.c.id)
        ).scalars()
        found.append(
            Violation(
                "seat.double_booked",
                f"seat {seat} of performance {perf} is in {n} live movements",
                {"performanceId": perf, "seatId": seat, "movementIds": list(movement_ids)},
            )
        )
    return found


def _wrong_venue(conn: Connection) -> list[Violation]:
    m, pf, ev, seat = s.movement, s.performance, s.event, s.seat
    rows = conn.execute(
        select(
            m.c.id,
            m.c.performance_id,
            m.c.seat_id,
            seat.c.venue_id,
            ev.c.venue_id.label("perf_venue"),
        )
        .join(pf, pf.c.id == m.c.performance_id)
        .join(ev, ev.c.id == pf.c.event_id)
        .join(seat, seat.c.id == m.c.seat_id)
        .where(seat.c.venue_id != ev.c.venue_id)
        .order_by(m.c.id)
    )
    return [
        Violation(
            "movement.venue",
            f"movement {r.id}: seat {r.seat_id} is in venue {r.venue_id}, performance "
            f"{r.performance_id} plays in venue {r.perf_venue}",
            {"movementId": r.id, "performanceId": r.performance_id, "seatId": r.seat_id},
        )
        for r in rows
    ]


def _wrong_category(conn: Connection) -> list[Violation]:
    m, seat = s.movement, s.seat
    rows = conn.execute(
        select(m.c.id, m.c.seat_id, m.c.seat_category_id, seat.c.seat_category_id.label("seat_cat"))
        .join(seat, seat.c.id == m.c.seat_id)
        .where(m.c.seat_category_id != seat.c.seat_category_id)
        .order_by(m.c.id)
    )
    return [
        Violation(
            "movement.category",
            f"movement {r.id}: seat category {r.seat_category_id}, but seat {r.seat_id} is in "
            f"seat category {r.seat_cat}",
            {"movementId": r.id, "seatId": r.seat_id},
        )
        for r in rows
    ]


def _availability(store: Store, conn: Connection, now_ms: int) -> list[Violation]:
    """Way 1: the availability service (capacity per category minus live movements).
    Way 2: seat by seat, the seats of the venue with no live movement."""
    ids = list(conn.execute(select(s.performance.c.id).order_by(s.performance.c.id)).scalars())
    if not ids:
        return []
    reader = AvailabilityReader(store, conn, _AUDITOR, now_ms)
    computed = reader.compute(reader.performances(ids), [-1])
    m, o, seat, pf, ev = s.movement, s.sale_order, s.seat, s.performance, s.event
    live_seat = (
        select(m.c.seat_id)
        .join(o, o.c.id == m.c.order_id)
        .where(m.c.performance_id == pf.c.id, m.c.seat_id == seat.c.id, live_condition(now_ms))
    )
    free_rows = conn.execute(
        select(pf.c.id, seat.c.seat_category_id, func.count())
        .select_from(
            pf.join(ev, ev.c.id == pf.c.event_id).join(seat, seat.c.venue_id == ev.c.venue_id)
        )
        .where(~exists(live_seat))
        .group_by(pf.c.id, seat.c.seat_category_id)
    )
    free = {(perf, cat): n for perf, cat, n in free_rows}
    found = []
    for perf in computed:
        for cat in perf.categories:
            seat_by_seat = free.get((perf.performance_id, cat.seat_category_id), 0)
            details = {
                "performanceId": perf.performance_id,
                "seatCategoryId": cat.seat_category_id,
                "capacity": cat.capacity,
                "held": cat.held,
                "sold": cat.sold,
                "available": cat.available,
                "freeSeatBySeat": seat_by_seat,
            }
            if cat.available < 0:
                found.append(
                    Violation(
                        "availability.consistent",
                        f"performance {perf.performance_id}, category {cat.seat_category_id}: "
                        f"negative availability {cat.available}",
                        details,
                    )
                )
            elif cat.available != seat_by_seat:
                found.append(
                    Violation(
                        "availability.consistent",
                        f"performance {perf.performance_id}, category {cat.seat_category_id}: "
                        f"capacity - held - sold = {cat.available}, but {seat_by_seat} seats are free",
                        details,
                    )
                )
    return found


def _leaked_holds(conn: Connection) -> list[Violation]:
    m, o = s.movement, s.sale_order
    rows = conn.execute(
        select(m.c.id, m.c.order_id, o.c.state)
        .join(o, o.c.id == m.c.order_id)
        .where(m.c.state == "HELD", o.c.state != "OPEN")
        .order_by(m.c.id)
    )
    return [
        Violation(
            "hold.leaked",
            f"movement {r.id} is HELD but its order {r.order_id} is {r.state}",
            {"movementId": r.id, "orderId": r.order_id},
        )
        for r in rows
    ]


def _duplicate_barcodes(conn: Connection, ticket: Any) -> list[Violation]:
    rows = conn.execute(
        select(ticket.c.barcode, func.count())
        .where(ticket.c.barcode.is_not(None))
        .group_by(ticket.c.barcode)
        .having(func.count() > 1)
    )
    return [
        Violation("barcode.unique", f"barcode {code} is on {n} tickets", {"barcode": code})
        for code, n in rows
    ]


def _invalid_barcodes(conn: Connection, ticket: Any, is_valid: Any) -> list[Violation]:
    found = []
    for ticket_id, code in conn.execute(
        select(ticket.c.id, ticket.c.barcode)
        .where(ticket.c.barcode.is_not(None))
        .order_by(ticket.c.id)
    ):
        if not is_valid(code):
            found.append(
                Violation(
                    "barcode.valid",
                    f"ticket {ticket_id}: barcode {code!r} has a wrong length, format or check digit",
                    {"ticketId": ticket_id, "barcode": code},
                )
            )
    return found


def _totals(conn: Connection, payment: Any) -> list[Violation]:
    m, o = s.movement, s.sale_order
    paid = (
        select(func.coalesce(func.sum(payment.c.amount), 0))
        .where(payment.c.order_id == o.c.id)
        .scalar_subquery()
    )
    sold = (
        select(func.coalesce(func.sum(m.c.unit_price), 0))
        .where(m.c.order_id == o.c.id, m.c.state == "SOLD")
        .scalar_subquery()
    )
    rows = conn.execute(
        select(o.c.id, paid.label("paid"), sold.label("sold")).where(
            o.c.state == "CLOSED", paid != sold
        )
    )
    return [
        Violation(
            "order.totals",
            f"closed order {r.id}: payments add up to {r.paid}, its sold seats to {r.sold}",
            {"orderId": r.id, "paid": r.paid, "sold": r.sold},
        )
        for r in rows
    ]
