"""The invariants audit passes on a fresh simulator and fails on a planted violation."""

from __future__ import annotations

from sales import attribution, close, order
from sqlalchemy import select, text

from mock_server.store import schema
from mock_server.testing import simulator_fixture

mock = simulator_fixture()


def invariants(report):
    return {v["invariant"] for v in report["violations"]}


def sold_movement(conn, performance_id=10001):
    m = schema.movement
    return conn.execute(
        select(m)
        .where(m.c.performance_id == performance_id, m.c.state == "SOLD")
        .order_by(m.c.id)
        .limit(1)
    ).one()


def test_fresh_simulator_is_ok(mock):
    report = mock.admin.audit()
    assert report["ok"] is True and report["violations"] == []
    assert {
        "seat.double_booked",
        "availability.consistent",
        "barcode.valid",
        "order.totals",
    } <= set(report["checks"])


def test_ok_after_sales(mock):
    facade = mock.soap_client("ExternalOrderFacade")
    orders = mock.soap_client("ExternalOrderService")
    close(orders, order(facade, attribution(10003, 3)).orderUpdateData)
    order(facade, attribution(10003, 2))  # held, open
    mock.admin.sell_out(10004)
    assert mock.admin.audit()["ok"]


def test_a_seat_in_two_live_movements(mock):
    with mock.sim.store.transaction() as conn:
        conn.execute(text("DROP INDEX ux_movement_live_seat"))  # what the index forbids, planted
        row = sold_movement(conn)
        conn.execute(schema.movement.insert().values(**{**row._asdict(), "id": None}))
    report = mock.admin.audit()
    assert report["ok"] is False
    assert invariants(report) == {"seat.double_booked", "availability.consistent"}
    double = next(v for v in report["violations"] if v["invariant"] == "seat.double_booked")
    assert double["details"]["seatId"] == row.seat_id and len(double["details"]["movementIds"]) == 2


def test_a_seat_of_another_venue(mock):
    with mock.sim.store.transaction() as conn:
        row = sold_movement(conn)
        venue = conn.execute(
            select(schema.seat.c.venue_id).where(schema.seat.c.id == row.seat_id)
        ).scalar_one()
        other = conn.execute(
            select(schema.seat.c.id, schema.seat.c.seat_category_id)
            .where(schema.seat.c.venue_id != venue)
            .order_by(schema.seat.c.id)
            .limit(1)
        ).one()
        conn.execute(
            schema.movement.update()
            .where(schema.movement.c.id == row.id)
            .values(seat_id=other.id, seat_category_id=row.seat_category_id)
        )
    report = mock.admin.audit()
    assert "movement.venue" in invariants(report) and "movement.category" in invariants(report)


def test_a_movement_in_the_wrong_category(mock):
    with mock.sim.store.transaction() as conn:
        row = sold_movement(conn)
        other = conn.execute(
            select(schema.seat_category.c.id)
            .where(schema.seat_category.c.id != row.seat_category_id)
            .limit(1)
        ).scalar_one()
        conn.execute(
            schema.movement.update()
            .where(schema.movement.c.id == row.id)
            .values(seat_category_id=other)
        )
    assert "movement.category" in invariants(mock.admin.audit())


def test_bad_barcode_and_wrong_totals(mock):
    facade = mock.soap_client("ExternalOrderFacade")
    orders = mock.soap_client("ExternalOrderService")
    closed = close(orders, order(facade, attribution(10003, 2)).orderUpdateData).orderData
    good = closed.tickets[0].barcode
    wrong_digit = good[:-1] + str((int(good[-1]) + 1) % 10)
    with mock.sim.store.transaction() as conn:
        conn.execute(
            schema.ticket.update()
            .where(schema.ticket.c.barcode == good)
            .values(barcode=wrong_digit)
        )
        conn.execute(
            schema.payment.update()
            .where(schema.payment.c.order_id == closed.orderId)
            .values(amount=1)
        )
    report = mock.admin.audit()
    assert invariants(report) == {"barcode.valid", "order.totals"}
    totals = next(v for v in report["violations"] if v["invariant"] == "order.totals")
    assert totals["details"] == {"orderId": closed.orderId, "paid": 1, "sold": closed.saleAmount}


def test_a_leaked_hold(mock):
    facade = mock.soap_client("ExternalOrderFacade")
    data = order(facade, attribution(10003, 1)).orderUpdateData
    with mock.sim.store.transaction() as conn:
        conn.execute(
            schema.sale_order.update()
            .where(schema.sale_order.c.id == data.orderId)
            .values(state="CANCELLED")
        )
    assert "hold.leaked" in invariants(mock.admin.audit())
