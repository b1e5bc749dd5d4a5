"""Many real HTTP clients race for the last seats of a performance."""

from __future__ import annotations

import random
import threading
from collections import Counter

import requests
from soap_raw import envelope, result
from sqlalchemy import func, select

from mock_server.core.barcodes import is_valid_barcode
from mock_server.soap import namespaces as ns
from mock_server.store import schema as s

PERFORMANCE = 10001  # nearly sold out in the default dataset
CLIENTS = 24


def _buy(
    session: requests.Session, base: str, quantity: int, category: int
) -> tuple[str, list[str]]:
    f, o = ns.ORDER_FACADE, ns.ORDER_SERVICE
    body = (
        "<pointOfSalesId>2001</pointOfSalesId><singleEntryAttributionOperations><operationAttributions>"
        f"<performanceId>{PERFORMANCE}</performanceId><seatCategoryId>{category}</seatCategoryId>"
        f"<audienceSubCategoryId>101</audienceSubCategoryId><quantity>{quantity}</quantity>"
        "</operationAttributions></singleEntryAttributionOperations>"
    )
    r = session.post(base + f.path, data=envelope(f.tns, "createOrUpdateOrder", body), timeout=60)
    res = result(r)
    status = res.findtext("statusCode")
    if status != "success":
        return status, []
    order_id = res.findtext("orderUpdateData/orderId")
    total = res.findtext("orderUpdateData/totalAmount")
    close = f"<orderId>{order_id}</orderId><generateBarCodes>true</generateBarCodes><totalAmount>{total}</totalAmount>"
    closed = result(
        session.post(base + o.path, data=envelope(o.tns, "closeOrder", close), timeout=60)
    )
    assert closed.findtext("statusCode") == "success", closed.findtext("statusDetail")
    return "success", [t.findtext("barcode") for t in closed.findall("orderData/tickets")]


def test_racing_clients_never_oversell(fresh):
    base = fresh.base_url
    av = ns.AVAILABILITY
    probe = envelope(
        av.tns,
        "getPerformanceAvailability",
        f"<pointOfSalesId>2001</pointOfSalesId><performanceIds>{PERFORMANCE}</performanceIds><seatCategoryIds>-1</seatCategoryIds>",
    )

    def categories() -> dict[int, int]:
        res = result(requests.post(base + av.path, data=probe, timeout=30))
        return {
            int(c.findtext("seatCategoryId")): int(c.findtext("available"))
            for c in res.findall("performanceAvailabilities/seatCategoryAvailabilities")
        }

    start = categories()
    capacity_left = sum(start.values())
    assert 0 < capacity_left < 200
    barcodes: list[str] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    gate = threading.Barrier(CLIENTS)

    def client(seed: int) -> None:
        rng = random.Random(seed)
        session = requests.Session()
        gate.wait()
        failures = 0
        while failures < 6:
            category = rng.choice(sorted(start))
            status, codes = _buy(session, base, rng.randint(1, 4), category)
            with lock:
                statuses[status] += 1
                barcodes.extend(codes)
            failures = failures + 1 if status != "success" else 0

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not any(t.is_alive() for t in threads)
    assert set(statuses) <= {"success", "error.order.availability"}, statuses

    # Exactly as many tickets as seats were left, each barcode unique and valid.
    end = categories()
    sold_now = capacity_left - sum(end.values())
    assert len(barcodes) == sold_now
    assert len(set(barcodes)) == len(barcodes) and all(map(is_valid_barcode, barcodes))
    # Demand exceeded supply: at most a few seats can be left (less than any request size per category).
    assert all(v < 4 for v in end.values()), end
    # The store agrees: no seat in two live movements, availability = capacity - held - sold.
    m = s.movement
    with fresh.sim.store.read() as conn:
        dup = conn.execute(
            select(m.c.seat_id, func.count())
            .where(m.c.performance_id == PERFORMANCE, m.c.state.in_(("HELD", "SOLD")))
            .group_by(m.c.seat_id)
            .having(func.count() > 1)
        ).all()
        assert dup == []
        held_or_sold = conn.execute(
            select(func.count()).where(
                m.c.performance_id == PERFORMANCE, m.c.state.in_(("HELD", "SOLD"))
            )
        ).scalar()
        capacity = conn.execute(
            select(func.count()).select_from(s.seat).where(s.seat.c.venue_id == 3001)
        ).scalar()
        tickets = conn.execute(
            select(func.count())
            .select_from(s.ticket.join(m, m.c.id == s.ticket.c.movement_id))
            .where(m.c.performance_id == PERFORMANCE)
        ).scalar()
    assert capacity - held_or_sold == sum(end.values())
    assert tickets == len(barcodes)
