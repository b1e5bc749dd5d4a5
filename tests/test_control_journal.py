"""The request journal: every SOAP call, filterable, bounded."""

from __future__ import annotations

import pytest
import requests
from soap_raw import envelope

from mock_server.admin_client import AdminError
from mock_server.soap import namespaces as ns
from mock_server.testing import simulator_fixture

P2 = ("DEMO_PARTNER2", "partner2-secret")

mock = simulator_fixture()


def call(
    mock, operation="getLastSetupUpdate", login=("DEMO_PARTNER1", "partner1-secret"), children=""
):
    body = envelope(ns.CATALOG.tns, operation, children, login=login)
    return requests.post(
        mock.url("CatalogService"), data=body.encode(), headers={"Content-Type": "text/xml"}
    )


def test_every_call_is_journalled_whatever_its_outcome(mock):
    assert call(mock).status_code == 200
    assert call(mock, login=("DEMO_PARTNER1", "bad")).status_code == 500
    assert call(mock, login=("NOBODY", "x")).status_code == 500
    assert call(mock, operation="noSuchOperation").status_code == 500
    r = requests.post(
        mock.url("CatalogService"), data=b"<not-xml", headers={"Content-Type": "text/xml"}
    )
    assert r.status_code == 500
    av = mock.soap_client("AvailabilityService")
    assert (
        av.service.getPerformanceAvailability(
            pointOfSalesId=9999, performanceIds=[10003]
        ).statusCode
        != "success"
    )
    entries = mock.admin.journal()["entries"]
    got = [
        (e["partner"], e["service"], e["operation"], e["outcome"], e["httpStatus"]) for e in entries
    ]
    assert got == [
        ("DEMO_PARTNER1", "CatalogService", "getLastSetupUpdate", "success", 200),
        (
            "DEMO_PARTNER1",
            "CatalogService",
            "getLastSetupUpdate",
            "fault:Client.Authentication",
            500,
        ),
        ("NOBODY", "CatalogService", "getLastSetupUpdate", "fault:Client.Authentication", 500),
        (
            "DEMO_PARTNER1",
            "CatalogService",
            "noSuchOperation",
            "fault:Client.UnknownOperation",
            500,
        ),
        (None, "CatalogService", None, "fault:Client.MalformedRequest", 500),
        (
            "DEMO_PARTNER1",
            "AvailabilityService",
            "getPerformanceAvailability",
            "error.pos.unknown",
            200,
        ),
    ]
    assert entries[-1]["params"] == {"pointOfSalesId": "9999", "performanceIds": "10003"}
    assert all(e["remoteAddr"] == "127.0.0.1" and e["durationMs"] >= 0 for e in entries)
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)


def test_key_parameters_are_simple_values_truncated(mock):
    av = mock.soap_client("AvailabilityService")
    av.service.getPerformanceAvailability(
        requestId="x" * 300,
        pointOfSalesId=2001,
        performanceIds=list(range(10001, 10031)),
        seatCategoryIds=[-1],
    )
    (entry,) = mock.admin.journal(operation="getPerformanceAvailability")["entries"]
    params = entry["params"]
    assert len(params["requestId"]) == 100 and params["requestId"].endswith("…")
    assert params["performanceIds"] == [str(i) for i in range(10001, 10021)]  # at most 20 values
    assert params["seatCategoryIds"] == "-1"


def test_filters(mock):
    mock.admin.freeze_clock("2026-09-01T09:00:00Z")
    call(mock)
    call(mock, login=P2)
    mock.admin.advance_clock(60)
    call(mock, operation="isCatalogServiceAlive")
    call(mock, login=("DEMO_PARTNER1", "bad"))
    j = mock.admin.journal
    assert [e["operation"] for e in j(partner="DEMO_PARTNER2")["entries"]] == ["getLastSetupUpdate"]
    assert len(j(operation="isCatalogServiceAlive")["entries"]) == 1
    assert len(j(outcome="success")["entries"]) == 3
    assert len(j(outcome="fault:*")["entries"]) == 1
    assert len(j(http_status=500)["entries"]) == 1
    assert len(j(service="AvailabilityService")["entries"]) == 0
    assert len(j(since="2026-09-01T09:01:00Z")["entries"]) == 2
    assert len(j(until="2026-09-01T09:00:59Z")["entries"]) == 2
    assert len(j(since="2026-09-01T09:00:00Z", until="2026-09-01T09:00:00Z")["entries"]) == 2
    page = j(limit=1, newest_first=True)
    assert page["matching"] == 4 and page["size"] == 4
    assert page["entries"][0]["outcome"] == "fault:Client.Authentication"
    assert page["entries"][0]["time"] == "2026-09-01T09:01:00.000Z"


def test_bounded_drops_the_oldest_and_counts_them(mock):
    mock.admin.set_journal_max(5)
    for i in range(8):
        call(mock, children=f"<requestId>r{i}</requestId>")
    page = mock.admin.journal()
    assert page["size"] == 5 and page["dropped"] == 3 and page["maxEntries"] == 5
    assert [e["params"]["requestId"] for e in page["entries"]] == ["r3", "r4", "r5", "r6", "r7"]
    mock.admin.set_journal_max(2)  # a smaller bound applies at once
    assert mock.admin.journal_settings() == {"size": 2, "dropped": 6, "maxEntries": 2}
    assert mock.admin.clear_journal()["deleted"] == 2
    assert mock.admin.journal_settings() == {"size": 0, "dropped": 0, "maxEntries": 2}
    call(mock, children="<requestId>after</requestId>")
    assert [e["params"]["requestId"] for e in mock.admin.journal()["entries"]] == ["after"]


def test_zero_turns_the_journal_off(mock):
    mock.admin.set_journal_max(0)
    call(mock)
    assert mock.admin.journal()["entries"] == []


def test_reset_empties_the_journal_and_restores_the_bound(mock):
    mock.admin.set_journal_max(3)
    call(mock)
    mock.admin.reset()
    assert mock.admin.journal_settings() == {"size": 0, "dropped": 0, "maxEntries": 10_000}


def test_bad_filters_are_refused(mock):
    for params in ({"limit": "-1"}, {"since": "yesterday"}, {"order": "sideways"}, {"bogus": "1"}):
        with pytest.raises(AdminError) as info:
            mock.admin.request("GET", "/journal", params=params)
        assert info.value.status == 400 and info.value.payload["problems"]


def test_journal_keeps_nested_parameters_and_reply_fields(mock):
    mock.reset()
    facade, orders = (
        mock.soap_client("ExternalOrderFacade"),
        mock.soap_client("ExternalOrderService"),
    )
    created = facade.service.createOrUpdateOrder(
        pointOfSalesId=2001,
        singleEntryAttributionOperations=[
            {
                "operationAttributions": [
                    {
                        "performanceId": 10003,
                        "seatCategoryId": 4001,
                        "audienceSubCategoryId": 101,
                        "quantity": 2,
                    },
                    {
                        "performanceId": 10004,
                        "seatCategoryId": 4001,
                        "audienceSubCategoryId": 101,
                        "quantity": 1,
                    },
                ]
            }
        ],
    ).orderUpdateData
    orders.service.closeOrder(
        orderId=created.orderId,
        totalAmount=created.totalAmount,
        payments=[{"paymentMethodId": 501, "amount": created.totalAmount}],
    )
    create, close = mock.admin.journal(service=None)["entries"][-2:]
    assert create["params"]["performanceId"] == ["10003", "10004"]
    assert create["params"]["quantity"] == ["2", "1"]
    assert create["result"] == {
        "statusCode": "success",
        "orderId": created.orderId,
        "orderState": "OPEN",
        "totalAmount": created.totalAmount,
    }
    assert close["params"]["paymentMethodId"] == "501"
    assert close["result"]["orderState"] == "CLOSED"
    assert close["result"]["saleAmount"] == created.totalAmount
    assert close["result"]["tickets"] == close["result"]["barcodes"] == 3


def test_journal_keeps_the_last_setup_update(mock):
    mock.reset()
    last = mock.soap_client("CatalogService").service.getLastSetupUpdate().lastUpdate
    (entry,) = mock.admin.journal(operation="getLastSetupUpdate")["entries"]
    assert entry["result"]["lastUpdate"] == last.isoformat()
