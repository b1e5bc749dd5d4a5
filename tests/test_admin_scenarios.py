"""Snapshots, setup changes and availability scenarios, seen through the SOAP API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sales import attribution, available, order

from mock_server.admin_client import AdminError
from mock_server.simulator import SimulatorConfig
from mock_server.testing import running_simulator, simulator_fixture

mock = simulator_fixture()


def level(av, performance_id):
    res = av.service.getPerformanceAvailability(
        pointOfSalesId=2001, performanceIds=[performance_id]
    )
    assert res.statusCode == "success", res.statusDetail
    return res.performanceAvailabilities[0]


def test_sell_out_makes_a_performance_sold_out_and_release_undoes_it(mock):
    av = mock.soap_client("AvailabilityService")
    assert level(av, 10003).availabilityLevel == "GOOD"
    mock.admin.freeze_clock("2026-09-02T10:00:00Z")
    sold = mock.admin.sell_out(10003)
    assert sold["sold"] == level(av, 10003).capacity
    perf = level(av, 10003)
    assert (perf.availabilityLevel, perf.available) == ("SOLD_OUT", 0)
    updated = av.service.getUpdatedAvailabilities(
        pointOfSalesId=2001, referenceDate=datetime(2026, 9, 2, 9, 59, tzinfo=UTC)
    )
    assert [u.productId for u in updated.availabilityUpdateData] == [8001]
    assert updated.availabilityUpdateData[0].lastUpdate == datetime(2026, 9, 2, 10, 0, tzinfo=UTC)
    assert mock.admin.sell_out(10003)["sold"] == 0
    released = mock.admin.release(10003)
    assert released["released"] == sold["sold"] and released["ordersCancelled"] == 1
    assert level(av, 10003).available == level(av, 10003).capacity
    assert mock.admin.audit()["ok"]


def test_sell_out_one_category_keeps_partner_holds(mock):
    facade = mock.soap_client("ExternalOrderFacade")
    av = mock.soap_client("AvailabilityService")
    data = order(facade, attribution(10003, 2, seat_category_id=4001)).orderUpdateData
    mock.admin.sell_out(10003, seat_category_id=4001)
    assert available(av, 10003, category=4001) == 0
    assert available(av, 10003, category=4002) > 0
    held = mock.soap_client("ExternalOrderService").service.getOrderDetails(orderId=data.orderId)
    assert held.orderData.orderState == "OPEN"
    assert mock.admin.audit()["ok"]


def test_release_cancels_the_datasets_box_office_sales(mock):
    av = mock.soap_client("AvailabilityService")
    before = level(av, 10001)
    assert before.available < before.capacity
    mock.admin.release(10001)
    assert level(av, 10001).available == before.capacity


def test_scenario_errors(mock):
    for call, status in (
        (lambda: mock.admin.sell_out(999), 404),
        (lambda: mock.admin.sell_out(10003, seat_category_id=4006), 404),
        (lambda: mock.admin.release(999), 404),
        (
            lambda: mock.admin.request("POST", "/scenarios/sell-out", {"performanceId": "10003"}),
            400,
        ),
    ):
        with pytest.raises(AdminError) as info:
            call()
        assert info.value.status == status


def test_setup_change_moves_last_setup_update_and_shows_in_the_catalog(mock):
    catalog = mock.soap_client("CatalogService")
    before = catalog.service.getLastSetupUpdate().lastUpdate
    mock.admin.freeze_clock("2026-09-03T07:30:00Z")
    changed = mock.admin.setup_change(
        productId=8002, externalName={"en": "Hamlet (new cast)", "fr": "Hamlet"}
    )
    assert changed["lastSetupUpdate"] == "2026-09-03T07:30:00.000Z" and changed["setupVersion"] == 2
    after = catalog.service.getLastSetupUpdate().lastUpdate
    assert after > before and after == datetime(2026, 9, 3, 7, 30, tzinfo=UTC)
    products = {
        p.id: p
        for s in catalog.service.getCatalogDetailed().catalogData.seasons
        for p in s.products
    }
    names = {t.locale: t.value for t in products[8002].externalName.translations}
    assert names == {"en": "Hamlet (new cast)", "fr": "Hamlet"}


def test_setup_changes_of_each_kind(mock):
    catalog = mock.soap_client("CatalogService")
    av = mock.soap_client("AvailabilityService")
    mock.admin.setup_change(performanceId=10003, state="SUSPENDED")
    assert level(av, 10003).availabilityLevel == "NOT_ON_SALE"
    mock.admin.setup_change(productId=8001, state="CLOSED")  # no longer exported
    seasons = catalog.service.getCatalogDetailed().catalogData.seasons
    assert 8001 not in {p.id for s in seasons for p in s.products}
    mock.admin.setup_change(seasonId=7001, externalName={"en": "Renamed"})
    mock.admin.setup_change(
        eventId=8502, seatCategoryId=4006, audienceSubCategoryId=101, priceLevelId=1, amount=12345
    )
    mock.admin.setup_change(performanceId=10005, start="2026-10-17T18:00:00Z", durationMinutes=90)
    assert (
        mock.admin.setup_change(productId=8002, alertRatio=0.5, minQuantity=2)["setupVersion"] == 7
    )
    with pytest.raises(AdminError) as info:
        mock.admin.setup_change(
            eventId=8502, seatCategoryId=4001, audienceSubCategoryId=101, priceLevelId=1, amount=1
        )
    assert info.value.status == 404
    with pytest.raises(AdminError) as info:
        mock.admin.setup_change(productId=8002, state="PAUSED")
    assert info.value.status == 400 and info.value.payload["problems"][0]["path"] == "$['state']"


def test_snapshot_round_trip(mock):
    av = mock.soap_client("AvailabilityService")
    mock.admin.freeze_clock("2026-09-05T12:00:00Z")
    initial = level(av, 10003).available
    saved = mock.admin.save_snapshot("before-sell-out")
    assert saved["name"] == "before-sell-out" and saved["virtualTime"] == "2026-09-05T12:00:00.000Z"
    mock.admin.sell_out(10003)
    mock.admin.advance_clock(3600)
    mock.admin.add_fault({"type": "latency", "ms": 1}, operation="nothing")
    assert level(av, 10003).available == 0
    journal_size = mock.admin.journal_settings()["size"]
    mock.admin.restore_snapshot("before-sell-out")
    assert level(av, 10003).available == initial
    assert mock.admin.clock()["now"] == "2026-09-05T12:00:00.000Z"  # the clock came back too
    assert len(mock.admin.faults()) == 1  # control settings stay
    assert (
        mock.admin.journal_settings()["size"] == journal_size + 1
    )  # the journal stays (and goes on)
    assert [s["name"] for s in mock.admin.snapshots()] == ["before-sell-out"]
    mock.admin.delete_snapshot("before-sell-out")
    assert mock.admin.snapshots() == []
    for call in (
        lambda: mock.admin.restore_snapshot("before-sell-out"),
        lambda: mock.admin.delete_snapshot("x"),
    ):
        with pytest.raises(AdminError) as info:
            call()
        assert info.value.status == 404
    with pytest.raises(AdminError) as info:
        mock.admin.save_snapshot("../escape")
    assert info.value.status == 400


def test_snapshots_of_a_file_store_are_files_beside_it(tmp_path):
    config = SimulatorConfig(state_url=f"sqlite:///{tmp_path / 'state.db'}", rate_limits="off")
    with running_simulator(config) as filed:
        av = filed.soap_client("AvailabilityService")
        filed.admin.save_snapshot("s1")
        assert (tmp_path / "state.db.snapshots" / "s1.sqlite").exists()
        filed.admin.sell_out(10003)
        filed.admin.save_snapshot("s2")
        filed.admin.restore_snapshot("s1")
        assert level(av, 10003).available > 0
        filed.admin.restore_snapshot("s2")
        assert level(av, 10003).available == 0
        assert [s["name"] for s in filed.admin.snapshots()] == ["s1", "s2"]
        filed.admin.delete_snapshot("s1")
        assert not (tmp_path / "state.db.snapshots" / "s1.sqlite").exists()
        assert filed.admin.audit()["ok"]
