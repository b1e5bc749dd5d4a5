"""CatalogService and AvailabilityService through zeep, checked against the dataset."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from fixtures.validate import default_dataset_path
from mock_server.core.clock import parse_instant

DATASET = json.loads(default_dataset_path().read_text())
EXPORTED = {"RUNNING", "SUSPENDED"}


def perf_level(av, performance_id, pos=2001):
    (a,) = av.service.getPerformanceAvailability(
        pointOfSalesId=pos, performanceIds=[performance_id]
    ).performanceAvailabilities
    return a


def test_catalog_matches_the_dataset(fresh, client):
    res = client("CatalogService").service.getCatalogDetailed()
    assert res.statusCode == "success"
    products = {p.id: p for s in res.catalogData.seasons for p in s.products}
    expected = {
        p["id"]: p
        for p in DATASET["products"]
        if p["state"] in EXPORTED and any(10 in sp["salesChannelIds"] for sp in p["salesPeriods"])
    }
    assert set(products) == set(expected)
    for pid, p in expected.items():
        got = products[pid]
        assert (
            got.code == p["code"]
            and got.state == p["state"]
            and got.productFamilyType == p["familyType"]
        )
        assert {t.locale: t.value for t in got.externalName.translations} == p["name"]
        perfs = [x for x in p["event"]["performances"] if x["state"] in EXPORTED]
        assert [x.id for x in got.event.performances] == [
            x["id"] for x in sorted(perfs, key=lambda x: (x["start"], x["id"]))
        ]
        for wire in got.event.performances:
            src = next(x for x in perfs if x["id"] == wire.id)
            assert wire.start == parse_instant(src["start"])
            assert wire.duration == src["durationMinutes"]
            assert {
                (x.seatCatId, x.audSubCatId, x.priceLevelId, x.amount) for x in wire.prices
            } == {
                (x["seatCategoryId"], x["audienceSubCategoryId"], x["priceLevelId"], x["amount"])
                for x in p["event"]["prices"]
            }
    assert "PREPARING" not in {p.state for p in products.values()}
    assert {a.code for a in res.catalogData.audienceSubCategories} == {
        a["code"] for a in DATASET["audienceSubCategories"]
    }


def test_catalog_filters(fresh, client):
    cat = client("CatalogService")
    season = DATASET["seasons"][0]["code"]
    by_season = cat.service.getCatalogDetailed(seasonCode=season)
    assert by_season.statusCode == "success" and {
        s.code for s in by_season.catalogData.seasons
    } == {season}
    code = DATASET["products"][0]["code"]
    one = cat.service.getCatalogDetailed(productCode=code)
    assert [p.code for s in one.catalogData.seasons for p in s.products] == [code]
    assert cat.service.getCatalogDetailed(seasonCode="NOPE").statusCode == "error.season.unknown"
    assert cat.service.getCatalogDetailed(productCode="NOPE").statusCode == "error.product.unknown"


def test_pos_config_setup_update_alive(fresh, client):
    cat = client("CatalogService")
    cfg = cat.service.getPOSConfig().posConfigData
    assert (
        cfg.posId,
        cfg.institCode,
        cfg.currencyCode,
        cfg.maxSeatsPerPerformance,
        cfg.orderAbandonDelay,
    ) == (
        2001,
        "DEMO",
        "EUR",
        10,
        15,
    )
    assert [m.paymentType for m in cfg.paymentMethods].count("PENDING_ACCOUNT") == 1
    other = (
        client("CatalogService", ("DEMO_PARTNER2", "partner2-secret"))
        .service.getPOSConfig()
        .posConfigData
    )
    assert other.posId == 2002
    last = cat.service.getLastSetupUpdate()
    assert last.statusCode == "success" and last.lastUpdate == parse_instant(
        DATASET["setupLastUpdate"]
    )
    assert cat.service.isCatalogServiceAlive().statusCode == "success"


def test_every_availability_level_in_the_default_dataset(fresh, client):
    av = client("AvailabilityService")
    expectations = {
        10001: ("LIMITED", "ORANGE"),
        10002: ("SOLD_OUT", "RED"),
        10003: ("GOOD", "GREEN"),
        10005: ("NOT_ON_SALE", "GREY"),
        10008: ("NOT_ON_SALE", "GREY"),
    }
    res = av.service.getPerformanceAvailability(
        pointOfSalesId=2001, performanceIds=list(expectations)
    )
    assert res.statusCode == "success"
    assert [a.performanceId for a in res.performanceAvailabilities] == list(expectations)
    for a in res.performanceAvailabilities:
        assert (a.availabilityLevel, a.colourCode) == expectations[a.performanceId]
        assert 0 <= a.available <= a.capacity
    standing = next(a for v in DATASET["venues"] for a in v["areas"] if not a.get("numbered", True))
    assert standing["capacity"] > 0


def test_seat_category_selector_semantics(fresh, client):
    av = client("AvailabilityService")
    summed = perf_level(av, 10001)
    assert summed.seatCategoryAvailabilities == []
    listed = av.service.getPerformanceAvailability(
        pointOfSalesId=2001, performanceIds=[10001], seatCategoryIds=[-1]
    )
    cats = listed.performanceAvailabilities[0].seatCategoryAvailabilities
    assert len(cats) >= 2
    assert sum(c.available for c in cats) == summed.available
    assert sum(c.capacity for c in cats) == summed.capacity
    only = av.service.getPerformanceAvailability(
        pointOfSalesId=2001, performanceIds=[10001], seatCategoryIds=[cats[0].seatCategoryId]
    )
    assert [
        c.seatCategoryId for c in only.performanceAvailabilities[0].seatCategoryAvailabilities
    ] == [cats[0].seatCategoryId]
    bad = av.service.getPerformanceAvailability(
        pointOfSalesId=2001, performanceIds=[10001], seatCategoryIds=[999999]
    )
    assert bad.statusCode == "error.seatcategory.unknown"


def test_event_product_and_seats_availability_agree(fresh, client):
    av = client("AvailabilityService")
    product = DATASET["products"][0]
    event_id = product["event"]["id"]
    ev = av.service.getEventAvailability(
        pointOfSalesId=2001, eventIds=[event_id], seatCategoryIds=[-1]
    )
    assert ev.statusCode == "success"
    perf_ids = [p["id"] for p in product["event"]["performances"]]
    assert {a.performanceId for a in ev.performanceAvailabilities} == set(perf_ids)
    prod = av.service.getProductAvailability(pointOfSalesId=2001, productIds=[product["id"]])
    (pa,) = prod.productAvailabilities
    assert pa.productFamilyType == "SINGLE_ENTRY"
    assert {a.performanceId for a in pa.performanceAvailabilities} == set(perf_ids)
    selling = [a for a in pa.performanceAvailabilities if a.availabilityLevel != "NOT_ON_SALE"]
    assert pa.available == sum(a.available for a in selling)
    seats = av.service.getSeatsAvailability(pointOfSalesId=2001, performanceId=10001)
    numbered_free = sum(1 for s in seats.seats if s.state == "FREE")
    assert 0 < numbered_free <= seats.performanceAvailability.available
    assert len({s.physicalSeatId for s in seats.seats}) == len(seats.seats)
    assert (
        av.service.getEventAvailability(pointOfSalesId=2001, eventIds=[424242]).statusCode
        == "error.event.unknown"
    )
    assert (
        av.service.getProductAvailability(pointOfSalesId=2001, productIds=[424242]).statusCode
        == "error.product.unknown"
    )
    assert (
        av.service.getProductAvailability(pointOfSalesId=2001, productIds=[]).statusCode
        == "error.request.invalid"
    )


def test_sales_period_opening_moves_availability_and_updates(fresh, client):
    av = client("AvailabilityService")
    assert perf_level(av, 10005).availabilityLevel == "NOT_ON_SALE"
    before = fresh.sim.clock.now()
    fresh.sim.clock.set(datetime(2026, 10, 1, 9, tzinfo=UTC))  # the period opens at 08:00
    assert perf_level(av, 10005).availabilityLevel in ("GOOD", "LIMITED")
    res = av.service.getUpdatedAvailabilities(pointOfSalesId=2001, referenceDate=before)
    assert 8002 in {u.productId for u in res.availabilityUpdateData}


def test_updated_availabilities_sees_a_sale_and_only_it(fresh, client):
    av, facade = client("AvailabilityService"), client("ExternalOrderFacade")
    reference = fresh.sim.clock.now()
    fresh.sim.clock.advance(1)
    assert (
        av.service.getUpdatedAvailabilities(
            pointOfSalesId=2001, referenceDate=reference
        ).availabilityUpdateData
        == []
    )
    r = facade.service.createOrUpdateOrder(
        pointOfSalesId=2001,
        singleEntryAttributionOperations=[
            {
                "operationAttributions": [
                    {
                        "performanceId": 10003,
                        "seatCategoryId": 4001,
                        "audienceSubCategoryId": 101,
                        "quantity": 1,
                    }
                ]
            }
        ],
    )
    assert r.statusCode == "success"
    updates = av.service.getUpdatedAvailabilities(
        pointOfSalesId=2001, referenceDate=reference
    ).availabilityUpdateData
    assert [u.productId for u in updates] == [8001]
    assert updates[0].lastUpdate > reference
    filtered = av.service.getUpdatedAvailabilities(
        pointOfSalesId=2001, productIds=[8005], referenceDate=reference
    )
    assert filtered.availabilityUpdateData == []


@pytest.mark.parametrize("pos", [2002, 9999])
def test_foreign_point_of_sales_is_refused(fresh, client, pos):
    av = client("AvailabilityService")
    assert (
        av.service.getPerformanceAvailability(pointOfSalesId=pos, performanceIds=[10001]).statusCode
        == "error.pos.unknown"
    )


def test_a_product_not_exported_is_unknown_by_code(fresh, client):
    preparing = next(p for p in DATASET["products"] if p["state"] == "PREPARING")
    res = client("CatalogService").service.getCatalogDetailed(productCode=preparing["code"])
    assert res.statusCode == "error.product.unknown"
