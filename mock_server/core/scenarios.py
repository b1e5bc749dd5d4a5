"""What the platform's back office does that partners only observe: setup changes
(the catalog changes, ``getLastSetupUpdate`` moves) and box-office sales (a
performance sells out at the venue, or those sales are cancelled).

Used by the control plane (``/_mock/setup-changes``, ``/_mock/scenarios/...``).
Every timestamp is the virtual now, so ``getLastSetupUpdate`` and
``getUpdatedAvailabilities`` see the change like any other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, exists, func, select, update

from mock_server.core.errors import (
    UnknownPerformance,
    UnknownProduct,
    UnknownSeason,
    UnknownSeatCategory,
)
from mock_server.store import schema as s
from mock_server.store.loader import box_office_order
from mock_server.store.store import get_meta, set_meta


class UnknownEventOrPrice(LookupError):
    pass


# --- setup changes ------------------------------------------------------------------------------
def bump_setup(conn: Connection, now_ms: int) -> dict[str, int]:
    """Record that the catalog setup changed now."""
    version = int(get_meta(conn, "setup_version") or 0) + 1
    set_meta(conn, "setup_version", version)
    set_meta(conn, "setup_last_update_ms", now_ms)
    return {"setupVersion": version, "lastSetupUpdateMs": now_ms}


def _update(conn: Connection, table: Any, row_id: int, values: dict[str, Any]) -> bool:
    if not values:
        return conn.execute(select(table.c.id).where(table.c.id == row_id)).first() is not None
    return bool(conn.execute(update(table).where(table.c.id == row_id).values(**values)).rowcount)


def change_season(
    conn: Connection,
    season_id: int,
    *,
    state: str | None = None,
    name: dict[str, str] | None = None,
) -> None:
    values = {k: v for k, v in {"state": state, "name": name}.items() if v is not None}
    if not _update(conn, s.season, season_id, values):
        raise UnknownSeason(f"no season {season_id}")


def change_product(
    conn: Connection,
    product_id: int,
    *,
    state: str | None = None,
    name: dict[str, str] | None = None,
    description: dict[str, str] | None = None,
    min_quantity: int | None = None,
    alert_ratio: float | None = None,
) -> None:
    values = {
        k: v
        for k, v in {
            "state": state,
            "name": name,
            "description": description,
            "min_quantity": min_quantity,
            "alert_ratio": alert_ratio,
        }.items()
        if v is not None
    }
    if not _update(conn, s.product, product_id, values):
        raise UnknownProduct(f"no product {product_id}")


def change_performance(
    conn: Connection,
    performance_id: int,
    *,
    state: str | None = None,
    start_ms: int | None = None,
    duration_minutes: int | None = None,
) -> None:
    values = {
        k: v
        for k, v in {
            "state": state,
            "start_ms": start_ms,
            "duration_minutes": duration_minutes,
        }.items()
        if v is not None
    }
    if not _update(conn, s.performance, performance_id, values):
        raise UnknownPerformance(f"no performance {performance_id}")


def change_price(
    conn: Connection,
    event_id: int,
    seat_category_id: int,
    audience_sub_category_id: int,
    price_level_id: int,
    amount: int,
) -> None:
    """Change the amount of an existing price (a new price is a new tariff: not a price change)."""
    p = s.price
    done = conn.execute(
        update(p)
        .where(
            p.c.event_id == event_id,
            p.c.seat_category_id == seat_category_id,
            p.c.audience_sub_category_id == audience_sub_category_id,
            p.c.price_level_id == price_level_id,
        )
        .values(amount=amount)
    )
    if not done.rowcount:
        raise UnknownEventOrPrice(
            f"event {event_id} has no price for seat category {seat_category_id}, audience "
            f"sub-category {audience_sub_category_id}, price level {price_level_id}"
        )


# --- box-office scenarios --------------------------------------------------------------------------
def _venue_of(conn: Connection, performance_id: int) -> int:
    venue = conn.execute(
        select(s.event.c.venue_id)
        .join(s.performance, s.performance.c.event_id == s.event.c.id)
        .where(s.performance.c.id == performance_id)
    ).scalar()
    if venue is None:
        raise UnknownPerformance(f"no performance {performance_id}")
    return int(venue)


def _expire_due(conn: Connection, now_ms: int) -> None:
    """Let expired holds go (the sales flow's own expiry, when it is there)."""
    try:
        from mock_server.core.orders import expire_due
    except ImportError:
        return
    expire_due(conn, now_ms)


def sell_out(
    conn: Connection, performance_id: int, seat_category_id: int | None, now_ms: int
) -> dict[str, Any]:
    """The box office sells every free seat of the performance (of one seat category):
    one closed box-office order, SOLD movements stamped now."""
    venue_id = _venue_of(conn, performance_id)
    seat, m = s.seat, s.movement
    if seat_category_id is not None:
        known = conn.execute(
            select(s.seat_category.c.id).where(
                s.seat_category.c.id == seat_category_id, s.seat_category.c.venue_id == venue_id
            )
        ).first()
        if known is None:
            raise UnknownSeatCategory(
                f"seat category {seat_category_id} is not in the venue of performance {performance_id}"
            )
    _expire_due(conn, now_ms)
    taken = exists(
        select(m.c.id).where(
            m.c.performance_id == performance_id,
            m.c.seat_id == seat.c.id,
            m.c.state.in_(["HELD", "SOLD"]),
        )
    )
    q = (
        select(seat.c.id, seat.c.seat_category_id)
        .where(seat.c.venue_id == venue_id, ~taken)
        .order_by(seat.c.id)
    )
    if seat_category_id is not None:
        q = q.where(seat.c.seat_category_id == seat_category_id)
    free = conn.execute(q).all()
    if not free:
        return {"orderId": None, "sold": 0}
    order_id = box_office_order(conn, f"BOX-OFFICE-SELL-OUT-{performance_id}", now_ms)
    conn.execute(
        m.insert(),
        [
            {
                "order_id": order_id,
                "performance_id": performance_id,
                "seat_id": seat_id,
                "seat_category_id": category_id,
                "unit_price": 0,
                "state": "SOLD",
                "created_ms": now_ms,
                "updated_ms": now_ms,
            }
            for seat_id, category_id in free
        ],
    )
    return {"orderId": int(order_id), "sold": len(free)}


def release(conn: Connection, performance_id: int, now_ms: int) -> dict[str, Any]:
    """Cancel the box-office sales of a performance (the dataset's and sell-outs'):
    their seats are free again, stamped now."""
    _venue_of(conn, performance_id)
    m, o = s.movement, s.sale_order
    box_office = select(o.c.id).where(o.c.partner_id.is_(None))
    rows = conn.execute(
        select(m.c.id, m.c.order_id).where(
            m.c.performance_id == performance_id, m.c.state == "SOLD", m.c.order_id.in_(box_office)
        )
    ).all()
    ids = [r.id for r in rows]
    orders = sorted({r.order_id for r in rows})
    cancelled = 0
    if ids:
        conn.execute(update(m).where(m.c.id.in_(ids)).values(state="CANCELLED", updated_ms=now_ms))
        # A box-office order with nothing left is cancelled.
        live = select(m.c.id).where(m.c.order_id == o.c.id, m.c.state.in_(["HELD", "SOLD"]))
        cancelled = int(
            conn.execute(
                update(o)
                .where(o.c.id.in_(orders), o.c.state == "CLOSED", ~exists(live))
                .values(state="CANCELLED", updated_ms=now_ms)
            ).rowcount
            or 0
        )
    return {"released": len(ids), "ordersCancelled": cancelled}


def box_office_count(conn: Connection, performance_id: int) -> int:
    m, o = s.movement, s.sale_order
    return int(
        conn.execute(
            select(func.count())
            .select_from(m.join(o, o.c.id == m.c.order_id))
            .where(
                m.c.performance_id == performance_id, m.c.state == "SOLD", o.c.partner_id.is_(None)
            )
        ).scalar_one()
    )
