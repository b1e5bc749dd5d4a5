"""The reply cache never answers with state older than a committed write."""

from __future__ import annotations

import pytest
from sales import attribution, available, close, order

from mock_server.simulator import SimulatorConfig
from mock_server.testing import running_simulator


@pytest.fixture(scope="module")
def cached():
    with running_simulator(SimulatorConfig(rate_limits="off")) as mock:
        yield mock


@pytest.fixture
def api(cached):
    cached.reset()
    return {
        "av": cached.soap_client("AvailabilityService"),
        "facade": cached.soap_client("ExternalOrderFacade"),
        "orders": cached.soap_client("ExternalOrderService"),
        "catalog": cached.soap_client("CatalogService"),
    }


def test_repeated_reads_are_served_from_the_cache_with_their_own_request_id(cached, api):
    cache = cached.app.soap.cache
    first = api["av"].service.getPerformanceAvailability(
        requestId="a&b", pointOfSalesId=2001, performanceIds=[10003]
    )
    hits = cache.hits
    second = api["av"].service.getPerformanceAvailability(
        requestId="other", pointOfSalesId=2001, performanceIds=[10003]
    )
    assert cache.hits == hits + 1
    assert (first.requestId, second.requestId) == ("a&b", "other")
    assert first.performanceAvailabilities == second.performanceAvailabilities
    third = api["av"].service.getPerformanceAvailability(
        pointOfSalesId=2001, performanceIds=[10003]
    )
    assert third.requestId and third.requestId not in ("a&b", "other")
    entries = cached.admin.journal(operation="getPerformanceAvailability")["entries"]
    assert [e["result"].get("cached", False) for e in entries] == [False, True, True]


def test_a_sale_an_expiry_and_a_setup_change_are_seen_at_once(cached, api):
    av, facade, orders = api["av"], api["facade"], api["orders"]
    before = available(av, 10003)
    assert available(av, 10003) == before  # now cached
    data = order(facade, attribution(10003, 2)).orderUpdateData
    assert available(av, 10003) == before - 2  # the write changed the token
    assert available(av, 10003) == before - 2
    cached.admin.advance_clock(15 * 60 + 1)  # the hold expires: by time alone
    assert available(av, 10003) == before
    data = order(facade, attribution(10003, 1)).orderUpdateData
    assert close(orders, data).statusCode == "success"
    assert available(av, 10003) == before - 1
    cat = api["catalog"]
    cat.service.getCatalogDetailed(productCode="CONCERT_8001")
    cat.service.getCatalogDetailed(productCode="CONCERT_8001")  # cached
    cached.admin.setup_change({"productId": 8001, "externalName": {"en": "Renamed"}})
    renamed = cat.service.getCatalogDetailed(productCode="CONCERT_8001")
    product = renamed.catalogData.seasons[0].products[0]
    assert {t.locale: t.value for t in product.externalName.translations}["en"] == "Renamed"


def test_a_write_straight_into_the_store_is_seen(cached, api):
    from sqlalchemy import update

    from mock_server.store import schema

    av = api["av"]
    assert (
        av.service.getPerformanceAvailability(pointOfSalesId=2001, performanceIds=[10003])
        .performanceAvailabilities[0]
        .availabilityLevel
        == "GOOD"
    )
    with cached.sim.store.transaction() as conn:
        conn.execute(
            update(schema.product).where(schema.product.c.id == 8001).values(state="SUSPENDED")
        )
    level = (
        av.service.getPerformanceAvailability(pointOfSalesId=2001, performanceIds=[10003])
        .performanceAvailabilities[0]
        .availabilityLevel
    )
    assert level == "NOT_ON_SALE"


def test_the_clock_set_back_is_not_served_a_future_answer(cached, api):
    from datetime import UTC, datetime

    av = api["av"]
    cached.admin.set_clock("2026-10-01T09:00:00Z")  # product 8002's sales period is open
    assert (
        av.service.getPerformanceAvailability(pointOfSalesId=2001, performanceIds=[10005])
        .performanceAvailabilities[0]
        .availabilityLevel
        != "NOT_ON_SALE"
    )
    cached.admin.set_clock(datetime(2026, 9, 1, 9, tzinfo=UTC).isoformat())
    assert (
        av.service.getPerformanceAvailability(pointOfSalesId=2001, performanceIds=[10005])
        .performanceAvailabilities[0]
        .availabilityLevel
        == "NOT_ON_SALE"
    )


def test_cache_can_be_switched_off():
    with running_simulator(SimulatorConfig(rate_limits="off", reply_cache=False)) as mock:
        assert mock.app.soap.cache is None
        av = mock.soap_client("AvailabilityService")
        assert (
            av.service.getPerformanceAvailability(
                pointOfSalesId=2001, performanceIds=[10003]
            ).statusCode
            == "success"
        )
