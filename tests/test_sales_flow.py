"""The purchase path of the S-360 reference architecture, through zeep."""

from __future__ import annotations

import pytest
from sales import attribution, available, close, order

from mock_server.core.barcodes import is_valid_barcode

P2 = ("DEMO_PARTNER2", "partner2-secret")


@pytest.fixture
def api(fresh, client):
    class Api:
        av = client("AvailabilityService")
        facade = client("ExternalOrderFacade")
        orders = client("ExternalOrderService")
        contacts = client("ContactInformationPublicService")
        sim = fresh.sim

    return Api


def test_buy_close_barcodes_and_availability_drop(api):
    before = available(api.av, 10003)
    r = order(api.facade, attribution(10003, 3), externalReference="web-1")
    assert r.statusCode == "success", r.statusDetail
    data = r.orderUpdateData
    assert data.orderState == "OPEN" and data.externalReference == "web-1"
    (op,) = data.operationDataUpdates
    assert op.quantity == 3 and op.totalAmount == 3 * op.unitPrice == data.totalAmount
    seats = data.movementDataUpdates
    assert len(seats) == 3
    # best available, side by side in one row
    assert len({(m.blockCode, m.rowNumber) for m in seats}) == 1
    numbers = sorted(int(m.seatNumber) for m in seats)
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    assert available(api.av, 10003) == before - 3
    closed = close(api.orders, data)
    assert closed.statusCode == "success", closed.statusDetail
    od = closed.orderData
    assert od.orderState == "CLOSED" and od.saleAmount == data.totalAmount
    barcodes = [t.barcode for t in od.tickets]
    assert len(barcodes) == 3 and len(set(barcodes)) == 3 and all(map(is_valid_barcode, barcodes))
    assert {t.seatId for t in od.tickets} == {m.seatId for m in seats}
    assert [(p.paymentMethodId, p.amount) for p in od.payments] == [(501, data.totalAmount)]
    assert available(api.av, 10003) == before - 3
    # closing again answers the same tickets, never new ones
    again = close(api.orders, data)
    assert (
        again.statusCode == "success" and [t.barcode for t in again.orderData.tickets] == barcodes
    )
    details = api.orders.service.getOrderDetails(orderId=data.orderId)
    assert (
        details.orderData.orderState == "CLOSED"
        and [t.barcode for t in details.orderData.tickets] == barcodes
    )


def test_an_open_order_expires_and_its_seats_return(api):
    before = available(api.av, 10003)
    data = order(api.facade, attribution(10003, 4)).orderUpdateData
    assert available(api.av, 10003) == before - 4
    api.sim.clock.advance(14 * 60 + 59)
    assert available(api.av, 10003) == before - 4
    api.sim.clock.advance(2)
    assert available(api.av, 10003) == before  # lazily, on the next read
    details = api.orders.service.getOrderDetails(orderId=data.orderId).orderData
    assert details.orderState == "ABANDONED"
    assert {m.movementState for m in details.movementDatas} == {"RELEASED"}
    assert close(api.orders, data).statusCode == "error.order.expired"
    again = order(api.facade, attribution(10003, 1), orderId=data.orderId)
    assert again.statusCode == "error.order.expired"


def test_update_an_open_order_add_and_remove_operations(api):
    data = order(api.facade, attribution(10003, 2)).orderUpdateData
    r = order(api.facade, attribution(10003, 1, tariff=102), orderId=data.orderId)
    assert r.statusCode == "success"
    assert len(r.orderUpdateData.operationDataUpdates) == 2
    first = data.operationDataUpdates[0].operationId
    r = api.facade.service.createOrUpdateOrder(
        pointOfSalesId=2001, orderId=data.orderId, operationIdsToRemove=[first]
    )
    assert r.statusCode == "success"
    ops = {o.operationId: o for o in r.orderUpdateData.operationDataUpdates}
    assert ops[first].operationState == "CANCELLED" and ops[first].quantity == 0
    assert r.orderUpdateData.totalAmount == sum(o.totalAmount for o in ops.values())
    assert close(api.orders, r.orderUpdateData).statusCode == "success"


def test_explicit_seat_from_seats_availability(api):
    seats = api.av.service.getSeatsAvailability(
        pointOfSalesId=2001, performanceId=10003, seatCategoryIds=[4001]
    ).seats
    free = next(s for s in seats if s.state == "FREE")
    r = order(
        api.facade,
        attribution(10003, None, seat_category_id=None, physicalSeatId=free.physicalSeatId),
    )
    assert r.statusCode == "success"
    assert [m.seatId for m in r.orderUpdateData.movementDataUpdates] == [free.physicalSeatId]
    taken = order(
        api.facade,
        attribution(10003, None, seat_category_id=None, physicalSeatId=free.physicalSeatId),
    )
    assert taken.statusCode == "error.order.availability"
    after = api.av.service.getSeatsAvailability(
        pointOfSalesId=2001, performanceId=10003, seatCategoryIds=[4001]
    ).seats
    assert next(s for s in after if s.physicalSeatId == free.physicalSeatId).state == "TAKEN"


def test_standing_area_by_quantity(api):
    r = order(api.facade, attribution(10013, 5, seat_category_id=4005))
    assert r.statusCode == "success", r.statusDetail
    assert all(
        m.rowNumber is None and m.seatNumber is None for m in r.orderUpdateData.movementDataUpdates
    )
    assert close(api.orders, r.orderUpdateData).statusCode == "success"


@pytest.mark.parametrize(
    "attr, status",
    [
        (attribution(10002, 1), "error.order.availability"),  # sold out
        (attribution(10001, 500), "error.order.max_seats"),
        (attribution(10005, 1), "error.order.not_on_sale"),  # sales period not open yet
        (attribution(10008, 1), "error.order.not_on_sale"),  # SUSPENDED product
        (attribution(424242, 1), "error.performance.unknown"),
        (attribution(10003, 1, seat_category_id=999999), "error.seatcategory.unknown"),
        (attribution(10003, 1, tariff=999999), "error.order.tariff"),
        (attribution(10003, 0), "error.request.invalid"),
        (attribution(10003, None, seat_category_id=None, physicalSeatId=1), "error.seat.unknown"),
    ],
)
def test_order_errors_are_statuses_and_change_nothing(api, attr, status):
    before = available(api.av, 10003)
    r = order(api.facade, attr)
    assert r.statusCode == status, r.statusDetail
    assert r.statusDetail
    assert available(api.av, 10003) == before


def test_more_than_max_seats_across_updates(api):
    data = order(api.facade, attribution(10003, 8)).orderUpdateData
    r = order(api.facade, attribution(10003, 3), orderId=data.orderId)
    assert r.statusCode == "error.order.max_seats"


def test_close_checks_amount_and_payment_method(api):
    data = order(api.facade, attribution(10003, 2)).orderUpdateData
    wrong_total = api.orders.service.closeOrder(
        orderId=data.orderId, totalAmount=data.totalAmount - 1
    )
    assert wrong_total.statusCode == "error.order.amount"
    voucher = close(api.orders, data, method=502)
    assert voucher.statusCode == "error.payment.method"
    split = api.orders.service.closeOrder(
        orderId=data.orderId,
        totalAmount=data.totalAmount,
        payments=[{"paymentMethodId": 501, "amount": 1}],
    )
    assert split.statusCode == "error.order.amount"
    assert api.orders.service.getOrderDetails(orderId=data.orderId).orderData.orderState == "OPEN"
    ok = api.orders.service.closeOrder(
        orderId=data.orderId, totalAmount=data.totalAmount
    )  # pending account by default
    assert ok.statusCode == "success" and ok.orderData.payments[0].paymentMethodId == 501


def test_cancel_and_abandon(api):
    before = available(api.av, 10003)
    data = order(
        api.facade, attribution(10003, 2), attribution(10003, 1, tariff=102)
    ).orderUpdateData
    mv = data.movementDataUpdates[0].movementId
    r = api.orders.service.abandonMovements(orderId=data.orderId, movementIds=[mv])
    assert r.statusCode == "success" and r.orderData.orderState == "OPEN"
    assert available(api.av, 10003) == before - 2
    r = api.orders.service.cancelOperations(orderId=data.orderId)
    assert r.statusCode == "success" and r.orderData.orderState == "CANCELLED"
    assert available(api.av, 10003) == before
    assert close(api.orders, data).statusCode == "error.order.cancelled"
    other = order(api.facade, attribution(10003, 1)).orderUpdateData
    assert (
        api.orders.service.abandonMovements(orderId=other.orderId).orderData.orderState
        == "ABANDONED"
    )
    assert api.orders.service.abandonMovements(orderId=424242).statusCode == "error.order.unknown"
    assert (
        api.orders.service.cancelOperations(orderId=other.orderId, operationIds=[424242]).statusCode
        == "error.order.expired"
    )


def test_cancel_a_closed_order_refunds_and_frees_the_seats(api):
    before = available(api.av, 10003)
    data = order(api.facade, attribution(10003, 2)).orderUpdateData
    closed = close(api.orders, data).orderData
    op = closed.operationDatas[0].operationId
    r = api.orders.service.cancelOperations(orderId=data.orderId, operationIds=[op])
    assert r.statusCode == "success"
    assert r.orderData.orderState == "CLOSED" and r.orderData.saleAmount == 0
    assert {t.ticketState for t in r.orderData.tickets} == {"CANCELLED"}
    assert sum(p.amount for p in r.orderData.payments) == 0
    assert available(api.av, 10003) == before


def test_partner_isolation(api, client):
    data = order(api.facade, attribution(10003, 1)).orderUpdateData
    theirs = client("ExternalOrderService", P2)
    assert theirs.service.getOrderDetails(orderId=data.orderId).statusCode == "error.order.unknown"
    assert (
        theirs.service.closeOrder(orderId=data.orderId, totalAmount=data.totalAmount).statusCode
        == "error.order.unknown"
    )
    assert theirs.service.cancelOperations(orderId=data.orderId).statusCode == "error.order.unknown"
    their_facade = client("ExternalOrderFacade", P2)
    assert order(their_facade, attribution(10003, 1), pos=2001).statusCode == "error.pos.unknown"
    r = order(their_facade, attribution(10003, 1), pos=2002, orderId=data.orderId)
    assert r.statusCode == "error.order.unknown"
    assert api.orders.service.getOrderDetails(orderId=data.orderId).orderData.orderState == "OPEN"


def test_external_reference_makes_create_idempotent(api):
    first = order(api.facade, attribution(10003, 2), externalReference="cart-42").orderUpdateData
    retry = order(api.facade, attribution(10003, 2), externalReference="cart-42").orderUpdateData
    assert retry.orderId == first.orderId
    assert [m.seatId for m in retry.movementDataUpdates] == [
        m.seatId for m in first.movementDataUpdates
    ]


def test_purchaser_contact_and_deleted_contact(api):
    c = api.contacts.service.createCulturalContact(
        contactDataList=[{"firstName": "Ada", "lastName": "Byron", "email": "ada@example.org"}]
    )
    number = c.contacts[0].contactNumber
    data = order(
        api.facade, attribution(10003, 1), purchasersInfo=[{"contactReference": str(number)}]
    ).orderUpdateData
    assert api.contacts.service.deleteContact(contactNumber=number).statusCode == "success"
    details = api.orders.service.getOrderDetails(orderId=data.orderId).orderData
    assert details.purchaserContactNumber == number  # the order keeps its data
    r = order(api.facade, attribution(10003, 1), purchasersInfo=[{"contactReference": str(number)}])
    assert r.statusCode == "error.contact.unknown"


def test_close_after_payment_failure_is_retried_without_paying_twice(api):
    """The domain point where a back office fails: payment booked, no tickets yet."""
    from mock_server.core import orders, partners

    data = order(api.facade, attribution(10003, 2)).orderUpdateData
    store, clock = api.sim.store, api.sim.clock
    partner = partners.authenticate(store, "DEMO_PARTNER1", "partner1-secret")
    with store.read() as conn:
        pos = partners.point_of_sales(conn, 2001)

    def boom(name: str) -> None:
        raise RuntimeError(name)

    with pytest.raises(RuntimeError, match="closeOrder.after_payment"):
        orders.close_order(
            store, partner, pos, data.orderId, [], data.totalAmount, True, None, clock.now_ms, boom
        )
    half = api.orders.service.getOrderDetails(orderId=data.orderId).orderData
    assert half.orderState == "OPEN" and half.tickets == [] and len(half.payments) == 1
    api.sim.clock.advance(3600)  # a paid order no longer expires
    done = close(api.orders, data)
    assert done.statusCode == "success" and done.orderData.orderState == "CLOSED"
    assert len(done.orderData.payments) == 1 and len(done.orderData.tickets) == 2


def test_second_partial_cancel_of_a_closed_order_refunds_again(api):
    data = order(
        api.facade, attribution(10003, 2), attribution(10003, 1, tariff=102)
    ).orderUpdateData
    closed = close(api.orders, data).orderData
    first, second = (o.operationId for o in closed.operationDatas)
    assert (
        api.orders.service.cancelOperations(orderId=data.orderId, operationIds=[first]).statusCode
        == "success"
    )
    r = api.orders.service.cancelOperations(orderId=data.orderId, operationIds=[second])
    assert r.statusCode == "success", r.statusDetail
    assert r.orderData.saleAmount == 0 and sum(p.amount for p in r.orderData.payments) == 0


def test_removing_every_operation_cancels_the_order(api):
    data = order(api.facade, attribution(10003, 1)).orderUpdateData
    op = data.operationDataUpdates[0].operationId
    r = api.facade.service.createOrUpdateOrder(
        pointOfSalesId=2001, orderId=data.orderId, operationIdsToRemove=[op]
    )
    assert r.statusCode == "success" and r.orderUpdateData.orderState == "CANCELLED"


def test_generate_barcodes_is_a_strict_boolean(api):
    data = order(api.facade, attribution(10003, 1)).orderUpdateData
    plain = api.orders.service.closeOrder(
        orderId=data.orderId, totalAmount=data.totalAmount, generateBarCodes=False
    )
    assert plain.statusCode == "success" and [t.barcode for t in plain.orderData.tickets] == [None]
