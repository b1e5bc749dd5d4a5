"""The sales flow: createOrUpdateOrder, closeOrder, getOrderDetails,
cancelOperations, abandonMovements; holds, expiry and tickets.

Invariants (the store enforces the first as a partial unique index):

* a seat is in at most one live movement (HELD or SOLD) per performance;
* an open order's holds last ``orderAbandonDelay`` minutes from its creation on
  the virtual clock; then the order is ABANDONED and its seats are free again.
  Reads see that at once (``availability.live_condition``); writes record it
  first (:func:`expire_due`), stamped with the expiry instant, not the moment
  somebody noticed;
* closing books the payment on the point of sales' pending account, then
  issues one ticket per seat, each with a unique CSPRNG barcode; closing a
  closed order answers the same tickets again.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from mock_server.core import contacts
from mock_server.core.availability import AvailabilityReader
from mock_server.core.barcodes import new_barcode
from mock_server.core.clock import from_ms
from mock_server.core.errors import (
    EmptyOrder,
    InvalidRequest,
    MinQuantity,
    NotAvailable,
    NotOnSale,
    OrderCancelled,
    OrderExpired,
    OrderNotOpen,
    TooManySeats,
    UnknownOperationOrMovement,
    UnknownOrder,
    UnknownSeat,
    UnknownSeatCategory,
    UnknownTariff,
    WrongAmount,
    WrongPaymentMethod,
)
from mock_server.core.model import Partner, PointOfSales
from mock_server.store import Store
from mock_server.store import schema as s
from mock_server.store.store import inserted_id

LIVE = ("HELD", "SOLD")
ORDER_TYPES = ("SALE",)


# --- requests ----------------------------------------------------------------------------
@dataclass
class Attribution:
    """One line of singleEntryAttributionOperations: places of one performance."""

    performance_id: int
    audience_sub_category_id: int
    quantity: int | None = None
    seat_category_id: int | None = None
    physical_seat_id: int | None = None
    price_level_id: int | None = None
    preferred_area_ids: list[int] = field(default_factory=list)


@dataclass
class OrderRequest:
    order_id: int | None = None
    order_type: str | None = None
    purchaser_contact_number: int | None = None
    external_reference: str | None = None
    attributions: list[Attribution] = field(default_factory=list)
    remove_operation_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class PaymentRequest:
    payment_method_id: int
    amount: int


# --- views --------------------------------------------------------------------------------
@dataclass
class OperationView:
    id: int
    product_id: int
    performance_id: int
    seat_category_id: int
    audience_sub_category_id: int
    price_level_id: int
    unit_price: int
    quantity: int
    total_amount: int
    state: str


@dataclass
class MovementView:
    id: int
    operation_id: int | None
    performance_id: int
    seat_id: int
    seat_category_id: int
    area_id: int
    area_code: str
    block_code: str | None
    row: str | None
    number: int | None
    unit_price: int
    state: str


@dataclass
class TicketView:
    id: int
    movement_id: int
    operation_id: int | None
    performance_id: int
    seat_id: int
    barcode: str | None
    state: str


@dataclass
class PaymentView:
    payment_method_id: int
    amount: int
    created: datetime


@dataclass
class OrderView:
    id: int
    secret_id: str
    state: str
    order_type: str
    external_reference: str | None
    purchaser_contact_number: int | None
    created: datetime
    updated: datetime
    expires: datetime | None
    closed: datetime | None
    total_amount: int
    operations: list[OperationView]
    movements: list[MovementView]
    tickets: list[TicketView]
    payments: list[PaymentView]


# --- expiry -------------------------------------------------------------------------------
def expire_due(conn: Connection, now_ms: int) -> int:
    """Record the abandonment of every open order whose holds expired by ``now_ms``."""
    o, m, op = s.sale_order, s.movement, s.operation
    due = conn.execute(
        select(o.c.id, o.c.expires_ms).where(
            o.c.state == "OPEN", o.c.expires_ms.is_not(None), o.c.expires_ms <= now_ms
        )
    ).all()
    for order_id, expires_ms in due:
        conn.execute(
            m.update()
            .where(m.c.order_id == order_id, m.c.state == "HELD")
            .values(state="RELEASED", updated_ms=expires_ms)
        )
        conn.execute(
            op.update()
            .where(op.c.order_id == order_id, op.c.state == "ACTIVE")
            .values(state="ABANDONED", updated_ms=expires_ms)
        )
        conn.execute(
            o.update().where(o.c.id == order_id).values(state="ABANDONED", updated_ms=expires_ms)
        )
    return len(due)


# --- reading an order ------------------------------------------------------------------------
def _order_row(conn: Connection, partner: Partner, order_id: int | None) -> Any:
    if order_id is None:
        raise InvalidRequest("orderId is mandatory")
    row = conn.execute(
        select(s.sale_order).where(
            s.sale_order.c.id == order_id, s.sale_order.c.partner_id == partner.id
        )
    ).first()
    if row is None:
        raise UnknownOrder(f"no order {order_id} for operator {partner.login}")
    return row


def _require_open(row: Any) -> None:
    if row.state == "ABANDONED":
        raise OrderExpired(f"order {row.id} was abandoned at {from_ms(row.updated_ms).isoformat()}")
    if row.state == "CANCELLED":
        raise OrderCancelled(f"order {row.id} is cancelled")
    if row.state != "OPEN":
        raise OrderNotOpen(f"order {row.id} is {row.state}; only an OPEN order can be changed")


def order_view(conn: Connection, order_id: int) -> OrderView:
    o = conn.execute(select(s.sale_order).where(s.sale_order.c.id == order_id)).one()
    m, op, t = s.movement, s.operation, s.ticket
    movements = [
        MovementView(
            id=r.id,
            operation_id=r.operation_id,
            performance_id=r.performance_id,
            seat_id=r.seat_id,
            seat_category_id=r.seat_category_id,
            area_id=r.area_id,
            area_code=r.area_code,
            block_code=r.block_code,
            row=r.row_code,
            number=r.number,
            unit_price=r.unit_price,
            state=r.state,
        )
        for r in conn.execute(
            select(
                m.c.id,
                m.c.operation_id,
                m.c.performance_id,
                m.c.seat_id,
                m.c.seat_category_id,
                m.c.unit_price,
                m.c.state,
                s.seat.c.area_id,
                s.area.c.code.label("area_code"),
                s.block.c.code.label("block_code"),
                s.seat.c.row_code,
                s.seat.c.number,
            )
            .join(s.seat, s.seat.c.id == m.c.seat_id)
            .join(s.area, s.area.c.id == s.seat.c.area_id)
            .outerjoin(s.block, s.block.c.id == s.seat.c.block_id)
            .where(m.c.order_id == order_id)
            .order_by(m.c.id)
        )
    ]
    live_by_op: dict[int | None, int] = defaultdict(int)
    for mv in movements:
        if mv.state in LIVE:
            live_by_op[mv.operation_id] += 1
    operations = [
        OperationView(
            id=r.id,
            product_id=r.product_id,
            performance_id=r.performance_id,
            seat_category_id=r.seat_category_id,
            audience_sub_category_id=r.audience_sub_category_id,
            price_level_id=r.price_level_id,
            unit_price=r.unit_price,
            quantity=live_by_op[r.id],
            total_amount=live_by_op[r.id] * r.unit_price,
            state=r.state,
        )
        for r in conn.execute(select(op).where(op.c.order_id == order_id).order_by(op.c.id))
    ]
    by_movement = {mv.id: mv for mv in movements}
    tickets = [
        TicketView(
            id=r.id,
            movement_id=r.movement_id,
            operation_id=by_movement[r.movement_id].operation_id,
            performance_id=by_movement[r.movement_id].performance_id,
            seat_id=by_movement[r.movement_id].seat_id,
            barcode=r.barcode,
            state=r.state,
        )
        for r in conn.execute(select(t).where(t.c.order_id == order_id).order_by(t.c.id))
    ]
    payments = [
        PaymentView(
            payment_method_id=r.payment_method_id, amount=r.amount, created=from_ms(r.created_ms)
        )
        for r in conn.execute(
            select(s.payment).where(s.payment.c.order_id == order_id).order_by(s.payment.c.id)
        )
    ]
    return OrderView(
        id=o.id,
        secret_id=o.secret_id,
        state=o.state,
        order_type=o.order_type,
        external_reference=o.external_reference,
        purchaser_contact_number=o.purchaser_contact_number,
        created=from_ms(o.created_ms),
        updated=from_ms(o.updated_ms),
        expires=from_ms(o.expires_ms) if o.expires_ms is not None else None,
        closed=from_ms(o.closed_ms) if o.closed_ms is not None else None,
        total_amount=sum(mv.unit_price for mv in movements if mv.state in LIVE),
        operations=operations,
        movements=movements,
        tickets=tickets,
        payments=payments,
    )


def get_order(conn: Connection, partner: Partner, order_id: int | None, now_ms: int) -> OrderView:
    """getOrderDetails."""
    expire_due(conn, now_ms)
    return order_view(conn, _order_row(conn, partner, order_id).id)


# --- createOrUpdateOrder ---------------------------------------------------------------------
def create_or_update_order(
    store: Store,
    conn: Connection,
    partner: Partner,
    pos: PointOfSales,
    req: OrderRequest,
    now_ms: int,
) -> OrderView:
    expire_due(conn, now_ms)
    if req.order_type is not None and req.order_type not in ORDER_TYPES:
        raise InvalidRequest(f"orderType {req.order_type!r} is not simulated; use SALE")
    if req.purchaser_contact_number is not None:
        contacts.require_live_contact(conn, req.purchaser_contact_number)
    o = s.sale_order
    if req.order_id is None:
        if req.external_reference:
            # Idempotent retry: the partner's reference names its purchase.
            existing = conn.execute(
                select(o.c.id).where(
                    o.c.partner_id == partner.id,
                    o.c.external_reference == req.external_reference,
                    o.c.state.in_(("OPEN", "CLOSED")),
                )
            ).first()
            if existing is not None:
                return order_view(conn, existing.id)
        if not req.attributions:
            raise InvalidRequest("a new order needs at least one singleEntryAttributionOperation")
        order_id = inserted_id(
            conn.execute(
                o.insert().values(
                    secret_id=secrets.token_urlsafe(18),
                    partner_id=partner.id,
                    point_of_sales_id=pos.id,
                    order_type=req.order_type or "SALE",
                    state="OPEN",
                    external_reference=req.external_reference,
                    created_ms=now_ms,
                    updated_ms=now_ms,
                    expires_ms=now_ms + pos.order_abandon_delay_minutes * 60_000,
                    purchaser_contact_number=req.purchaser_contact_number,
                )
            )
        )
    else:
        row = _order_row(conn, partner, req.order_id)
        _require_open(row)
        if row.payment_booked_ms is not None:
            raise OrderNotOpen(f"order {row.id} is being closed (payment booked): it cannot change")
        order_id = row.id
        values: dict[str, Any] = {"updated_ms": now_ms}
        if req.purchaser_contact_number is not None:
            values["purchaser_contact_number"] = req.purchaser_contact_number
        if req.external_reference is not None:
            values["external_reference"] = req.external_reference
        conn.execute(o.update().where(o.c.id == order_id).values(**values))
        if req.remove_operation_ids:
            _end_operations(conn, order_id, req.remove_operation_ids, [], "CANCELLED", now_ms)
            if not req.attributions and _live_count(conn, order_id) == 0:
                # Nothing left: the order is cancelled, as cancelOperations does.
                conn.execute(o.update().where(o.c.id == order_id).values(state="CANCELLED"))
                return order_view(conn, order_id)
        if not req.attributions:
            return order_view(conn, order_id)
    reader = AvailabilityReader(store, conn, partner, now_ms)
    for attribution in req.attributions:
        _attribute(conn, reader, pos, order_id, attribution, now_ms)
    return order_view(conn, order_id)


def _attribute(
    conn: Connection,
    reader: AvailabilityReader,
    pos: PointOfSales,
    order_id: int,
    a: Attribution,
    now_ms: int,
) -> None:
    (perf,) = reader.performances([a.performance_id])
    on_sale = (
        perf.state == "RUNNING"
        and perf.product_state == "RUNNING"
        and perf.product_id in reader.on_sale_products([perf.product_id])
        and now_ms < perf.start_ms
    )
    if not on_sale:
        raise NotOnSale(f"performance {perf.id} is not on sale for point of sales {pos.id} now")
    quantity = a.quantity if a.quantity is not None else (1 if a.physical_seat_id else None)
    if quantity is None or quantity < 1:
        raise InvalidRequest(f"quantity must be a positive integer, not {a.quantity!r}")
    if a.physical_seat_id is not None and quantity != 1:
        raise InvalidRequest(
            "an attribution by physicalSeatId is for exactly one seat (quantity 1)"
        )
    seat_row = None
    if a.physical_seat_id is not None:
        seat_row = conn.execute(select(s.seat).where(s.seat.c.id == a.physical_seat_id)).first()
        if seat_row is None or seat_row.venue_id != perf.venue_id:
            raise UnknownSeat(
                f"seat {a.physical_seat_id} is not in the venue of performance {perf.id}"
            )
    category = (
        a.seat_category_id
        if a.seat_category_id is not None
        else (seat_row.seat_category_id if seat_row else None)
    )
    if category is None:
        raise InvalidRequest("seatCategoryId is mandatory when no physicalSeatId is given")
    if category not in reader.venue_capacity(perf.venue_id):
        raise UnknownSeatCategory(
            f"seat category {category} is not in the venue of performance {perf.id}"
        )
    if seat_row is not None and seat_row.seat_category_id != category:
        raise UnknownSeat(
            f"seat {seat_row.id} is in seat category {seat_row.seat_category_id}, not {category}"
        )
    product = conn.execute(
        select(s.product.c.min_quantity).where(s.product.c.id == perf.product_id)
    ).one()
    if quantity < product.min_quantity:
        raise MinQuantity(
            f"product {perf.product_id} is sold by at least {product.min_quantity} places"
        )
    # Tariff.
    price_q = select(s.price.c.price_level_id, s.price.c.amount).where(
        s.price.c.event_id == perf.event_id,
        s.price.c.seat_category_id == category,
        s.price.c.audience_sub_category_id == a.audience_sub_category_id,
    )
    if a.price_level_id is not None:
        price_q = price_q.where(s.price.c.price_level_id == a.price_level_id)
    price = conn.execute(price_q.order_by(s.price.c.price_level_id)).first()
    if price is None:
        raise UnknownTariff(
            f"no price for seat category {category}, audience sub-category {a.audience_sub_category_id}"
            + (f", price level {a.price_level_id}" if a.price_level_id is not None else "")
            + f" in event {perf.event_id}"
        )
    # Limit per order and performance.
    m = s.movement
    already = conn.execute(
        select(func.count()).where(
            m.c.order_id == order_id, m.c.performance_id == perf.id, m.c.state.in_(LIVE)
        )
    ).scalar_one()
    if already + quantity > pos.max_seats_per_performance:
        raise TooManySeats(
            f"{already + quantity} places of performance {perf.id} in one order; "
            f"point of sales {pos.id} allows {pos.max_seats_per_performance}"
        )
    # Seats.
    if seat_row is not None:
        taken = conn.execute(
            select(func.count()).where(
                m.c.performance_id == perf.id, m.c.seat_id == seat_row.id, m.c.state.in_(LIVE)
            )
        ).scalar_one()
        if taken:
            raise NotAvailable(f"seat {seat_row.id} is not available for performance {perf.id}")
        seat_ids = [seat_row.id]
    else:
        seat_ids = allocate(conn, perf.id, perf.venue_id, category, quantity, a.preferred_area_ids)
    operation_id = inserted_id(
        conn.execute(
            s.operation.insert().values(
                order_id=order_id,
                product_id=perf.product_id,
                performance_id=perf.id,
                seat_category_id=category,
                audience_sub_category_id=a.audience_sub_category_id,
                price_level_id=price.price_level_id,
                unit_price=price.amount,
                state="ACTIVE",
                created_ms=now_ms,
                updated_ms=now_ms,
            )
        )
    )
    conn.execute(
        m.insert(),
        [
            {
                "order_id": order_id,
                "operation_id": operation_id,
                "performance_id": perf.id,
                "seat_id": seat_id,
                "seat_category_id": category,
                "audience_sub_category_id": a.audience_sub_category_id,
                "price_level_id": price.price_level_id,
                "unit_price": price.amount,
                "state": "HELD",
                "created_ms": now_ms,
                "updated_ms": now_ms,
            }
            for seat_id in seat_ids
        ],
    )


def allocate(
    conn: Connection,
    performance_id: int,
    venue_id: int,
    seat_category_id: int,
    quantity: int,
    preferred_area_ids: Sequence[int] = (),
) -> list[int]:
    """Best available: the first free seats in venue order (front rows first), side by
    side in one row when possible; standing places in any order."""
    m, seat = s.movement, s.seat
    taken = select(m.c.seat_id).where(m.c.performance_id == performance_id, m.c.state.in_(LIVE))
    q = (
        select(seat.c.id, seat.c.block_id, seat.c.row_code, seat.c.number)
        .where(
            seat.c.venue_id == venue_id,
            seat.c.seat_category_id == seat_category_id,
            seat.c.id.not_in(taken),
        )
        .order_by(seat.c.id)
    )
    if preferred_area_ids:
        q = q.where(seat.c.area_id.in_(list(preferred_area_ids)))
    # Look for a contiguous run among the best free seats only: a bounded scan keeps
    # an order in a 50,000-seat arena as cheap as one in a theatre.
    window = max(quantity * 40, 400)
    free = conn.execute(q.limit(window)).all()  # fewer than quantity: that is all there is
    if len(free) < quantity:
        where = (
            f" in area(s) {', '.join(map(str, preferred_area_ids))}" if preferred_area_ids else ""
        )
        raise NotAvailable(
            f"{quantity} place(s) requested in seat category {seat_category_id}{where} of performance "
            f"{performance_id}, {len(free)} available"
        )
    if quantity > 1:
        run: list[int] = []
        previous: Any = None
        for r in free:
            contiguous = (
                previous is not None
                and r.number is not None
                and previous.number is not None
                and (r.block_id, r.row_code) == (previous.block_id, previous.row_code)
                and r.number == previous.number + 1
            )
            run = [*run, r.id] if contiguous else [r.id]
            previous = r
            if len(run) == quantity and r.number is not None:
                return run
    return [r.id for r in free[:quantity]]


def _end_operations(
    conn: Connection,
    order_id: int,
    operation_ids: Sequence[int],
    movement_ids: Sequence[int],
    end_state: str,
    now_ms: int,
) -> list[int]:
    """Move the live movements of the given operations/movements to ``end_state``
    (CANCELLED or RELEASED). Returns the movement ids changed."""
    m, op = s.movement, s.operation
    known_ops = set(conn.execute(select(op.c.id).where(op.c.order_id == order_id)).scalars())
    known_movs = set(conn.execute(select(m.c.id).where(m.c.order_id == order_id)).scalars())
    stray = [i for i in operation_ids if i not in known_ops] + [
        i for i in movement_ids if i not in known_movs
    ]
    if stray:
        raise UnknownOperationOrMovement(
            f"id(s) {', '.join(map(str, stray))} are not part of order {order_id}"
        )
    targets = set(movement_ids)
    if operation_ids:
        targets |= set(
            conn.execute(select(m.c.id).where(m.c.operation_id.in_(list(operation_ids)))).scalars()
        )
    live = list(
        conn.execute(select(m.c.id).where(m.c.id.in_(list(targets)), m.c.state.in_(LIVE))).scalars()
    )
    if live:
        conn.execute(m.update().where(m.c.id.in_(live)).values(state=end_state, updated_ms=now_ms))
        conn.execute(
            s.ticket.update()
            .where(s.ticket.c.movement_id.in_(live))
            .values(state="CANCELLED", updated_ms=now_ms)
        )
    # An operation with no live movement left has ended.
    op_state = "CANCELLED" if end_state == "CANCELLED" else "ABANDONED"
    still_live = select(m.c.operation_id).where(m.c.order_id == order_id, m.c.state.in_(LIVE))
    conn.execute(
        op.update()
        .where(op.c.order_id == order_id, op.c.state == "ACTIVE", op.c.id.not_in(still_live))
        .values(state=op_state, updated_ms=now_ms)
    )
    return live


def _live_total(conn: Connection, order_id: int) -> int:
    m = s.movement
    total = conn.execute(
        select(func.sum(m.c.unit_price)).where(m.c.order_id == order_id, m.c.state.in_(LIVE))
    ).scalar()
    return int(total or 0)


def _live_count(conn: Connection, order_id: int) -> int:
    m = s.movement
    return int(
        conn.execute(
            select(func.count()).where(m.c.order_id == order_id, m.c.state.in_(LIVE))
        ).scalar_one()
    )


# --- closeOrder ------------------------------------------------------------------------------
def book_payment(
    conn: Connection,
    partner: Partner,
    pos: PointOfSales,
    order_id: int | None,
    payments: Sequence[PaymentRequest],
    total_amount: int | None,
    purchaser_contact_number: int | None,
    now_ms: int,
) -> tuple[OrderView | None, bool]:
    """closeOrder, step 1: check the amounts and book the payment on the pending
    account. Returns (the order if it was already closed, already_closed)."""
    expire_due(conn, now_ms)
    row = _order_row(conn, partner, order_id)
    if row.state == "CLOSED":
        return order_view(conn, row.id), True
    _require_open(row)
    total = _live_total(conn, row.id)
    if _live_count(conn, row.id) == 0:
        raise EmptyOrder(f"order {row.id} holds no seat")
    if total_amount is None:
        raise InvalidRequest("totalAmount is mandatory")
    if total_amount != total:
        raise WrongAmount(f"totalAmount {total_amount} differs from the order total {total}")
    pending = [pm.id for pm in pos.payment_methods if pm.payment_type == "PENDING_ACCOUNT"]
    plan = list(payments) or [PaymentRequest(pending[0], total)]
    for p in plan:
        if p.payment_method_id not in pending:
            raise WrongPaymentMethod(
                f"payment method {p.payment_method_id} is not the pending account of point of sales "
                f"{pos.id} (use {pending[0]} from getPOSConfig)"
            )
        if p.amount < 0:
            raise WrongAmount("payment amounts are not negative")
    paid = sum(p.amount for p in plan)
    if paid != total:
        raise WrongAmount(f"payments add up to {paid}, the order total is {total}")
    if purchaser_contact_number is not None:
        contacts.require_live_contact(conn, purchaser_contact_number)
    o = s.sale_order
    if row.payment_booked_ms is None:
        conn.execute(
            s.payment.insert(),
            [
                {
                    "order_id": row.id,
                    "payment_method_id": p.payment_method_id,
                    "amount": p.amount,
                    "created_ms": now_ms,
                }
                for p in plan
            ],
        )
    values: dict[str, Any] = {
        "payment_booked_ms": row.payment_booked_ms or now_ms,
        "expires_ms": None,
    }
    if purchaser_contact_number is not None:
        values["purchaser_contact_number"] = purchaser_contact_number
    conn.execute(o.update().where(o.c.id == row.id).values(**values))
    return None, False


def issue_tickets(
    conn: Connection, partner: Partner, order_id: int, generate_barcodes: bool, now_ms: int
) -> OrderView:
    """closeOrder, step 2: sell the held seats, issue the tickets, close the order."""
    row = _order_row(conn, partner, order_id)
    if row.state == "CLOSED":
        return order_view(conn, row.id)
    m, t, o = s.movement, s.ticket, s.sale_order
    held = list(
        conn.execute(select(m.c.id).where(m.c.order_id == row.id, m.c.state == "HELD")).scalars()
    )
    conn.execute(m.update().where(m.c.id.in_(held)).values(state="SOLD", updated_ms=now_ms))
    for movement_id in held:
        conn.execute(
            t.insert().values(
                movement_id=movement_id,
                order_id=row.id,
                barcode=_unique_barcode(conn) if generate_barcodes else None,
                state="VALID",
                issued_ms=now_ms,
                updated_ms=now_ms,
            )
        )
    conn.execute(
        o.update()
        .where(o.c.id == row.id)
        .values(state="CLOSED", closed_ms=now_ms, updated_ms=now_ms)
    )
    return order_view(conn, row.id)


def _unique_barcode(conn: Connection) -> str:
    for _ in range(10):
        code = new_barcode()
        if conn.execute(select(func.count()).where(s.ticket.c.barcode == code)).scalar_one() == 0:
            return code
    raise RuntimeError("could not draw a unique barcode in 10 tries")  # 2^-60 odds: a broken RNG


def close_order(
    store: Store,
    partner: Partner,
    pos: PointOfSales,
    order_id: int | None,
    payments: Sequence[PaymentRequest],
    total_amount: int | None,
    generate_barcodes: bool,
    purchaser_contact_number: int | None,
    now: Callable[[], int],
    checkpoint: Callable[[str], None] = lambda _name: None,
) -> OrderView:
    """closeOrder in two transactions, as a real back office does: the payment is
    booked first; a failure between the two (see fault injection point
    ``closeOrder.after_payment``) leaves a paid, open order that a retry closes
    without paying twice."""
    with store.transaction() as conn:
        view, _closed = book_payment(
            conn, partner, pos, order_id, payments, total_amount, purchaser_contact_number, now()
        )
    if view is not None:  # already closed: the same answer again
        return view
    assert order_id is not None  # book_payment refused a missing id
    checkpoint("closeOrder.after_payment")
    with store.transaction() as conn:
        return issue_tickets(conn, partner, order_id, generate_barcodes, now())


# --- cancelOperations / abandonMovements ----------------------------------------------------------
def cancel_operations(
    conn: Connection,
    partner: Partner,
    order_id: int | None,
    operation_ids: Sequence[int],
    movement_ids: Sequence[int],
    now_ms: int,
) -> OrderView:
    """Cancel operations or movements (all of them when no id is given).

    Open order: the seats are released; with nothing left the order is CANCELLED.
    Closed order: the tickets are cancelled and refunded on the pending account,
    until the performance starts."""
    expire_due(conn, now_ms)
    row = _order_row(conn, partner, order_id)
    if row.state in ("ABANDONED", "CANCELLED"):
        _require_open(row)
    everything = not operation_ids and not movement_ids
    if everything:
        operation_ids = list(
            conn.execute(select(s.operation.c.id).where(s.operation.c.order_id == row.id)).scalars()
        )
    if row.state == "CLOSED":
        _check_refundable(conn, row.id, operation_ids, movement_ids, now_ms)
    before = order_view(conn, row.id).total_amount
    _end_operations(conn, row.id, operation_ids, movement_ids, "CANCELLED", now_ms)
    o = s.sale_order
    if row.state == "CLOSED" or row.payment_booked_ms is not None:
        refund = before - order_view(conn, row.id).total_amount
        if refund:
            method = (
                conn.execute(
                    select(s.payment.c.payment_method_id)
                    .where(s.payment.c.order_id == row.id)
                    .order_by(s.payment.c.id)
                )
                .scalars()
                .first()
            )
            conn.execute(
                s.payment.insert().values(
                    order_id=row.id, payment_method_id=method, amount=-refund, created_ms=now_ms
                )
            )
    if row.state == "CLOSED":
        conn.execute(o.update().where(o.c.id == row.id).values(updated_ms=now_ms))
    else:
        state = "CANCELLED" if _live_count(conn, row.id) == 0 else "OPEN"
        conn.execute(o.update().where(o.c.id == row.id).values(state=state, updated_ms=now_ms))
    return order_view(conn, row.id)


def _check_refundable(
    conn: Connection,
    order_id: int,
    operation_ids: Sequence[int],
    movement_ids: Sequence[int],
    now_ms: int,
) -> None:
    m, pf = s.movement, s.performance
    cond: Any = m.c.id.in_(list(movement_ids))
    if operation_ids:
        cond = cond | m.c.operation_id.in_(list(operation_ids))
    started = conn.execute(
        select(func.min(pf.c.start_ms))
        .select_from(m.join(pf, pf.c.id == m.c.performance_id))
        .where(and_(m.c.order_id == order_id, cond))
    ).scalar()
    if started is not None and started <= now_ms:
        raise OrderNotOpen("tickets of a performance that has started cannot be cancelled")


def abandon_movements(
    conn: Connection,
    partner: Partner,
    order_id: int | None,
    movement_ids: Sequence[int],
    now_ms: int,
) -> OrderView:
    """Release held seats of an open order (all of them, abandoning the order, when no id is given)."""
    expire_due(conn, now_ms)
    row = _order_row(conn, partner, order_id)
    _require_open(row)
    if row.payment_booked_ms is not None:
        raise OrderNotOpen(f"order {row.id} is paid: close it, or cancel its operations")
    ids = list(movement_ids) or list(
        conn.execute(select(s.movement.c.id).where(s.movement.c.order_id == row.id)).scalars()
    )
    _end_operations(conn, row.id, [], ids, "RELEASED", now_ms)
    o = s.sale_order
    state = "ABANDONED" if _live_count(conn, row.id) == 0 else "OPEN"
    conn.execute(o.update().where(o.c.id == row.id).values(state=state, updated_ms=now_ms))
    return order_view(conn, row.id)
