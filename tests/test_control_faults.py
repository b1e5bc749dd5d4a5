"""Fault injection, one test per kind, over real HTTP (zeep and requests)."""

from __future__ import annotations

import random
import time

import pytest
import requests
import zeep
from sales import attribution, available, close, order
from soap_raw import envelope

from mock_server.admin_client import AdminError
from mock_server.core import faultinjection
from mock_server.soap import namespaces as ns
from mock_server.testing import simulator_fixture

P2 = ("DEMO_PARTNER2", "partner2-secret")

mock = simulator_fixture()


def setup_update(mock, login=("DEMO_PARTNER1", "partner1-secret"), children=""):
    body = envelope(ns.CATALOG.tns, "getLastSetupUpdate", children, login=login)
    return requests.post(
        mock.url("CatalogService"), data=body.encode(), headers={"Content-Type": "text/xml"}
    )


def test_latency(mock):
    mock.admin.add_fault({"type": "latency", "ms": 300}, operation="getLastSetupUpdate", times=1)
    started = time.perf_counter()
    assert setup_update(mock).status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    assert setup_update(mock).status_code == 200
    assert time.perf_counter() - started < 0.3
    first, second = mock.admin.journal(operation="getLastSetupUpdate")["entries"]
    assert first["durationMs"] >= 300 and first["injected"][0]["type"] == "latency"
    assert second["injected"] is None


def test_soap_fault_with_code_and_message(mock):
    mock.admin.add_fault(
        {"type": "fault", "faultCode": "Server.Busy", "faultString": "try later"},
        service="CatalogService",
        operation="getLastSetupUpdate",
        times=2,
    )
    catalog = mock.soap_client("CatalogService")
    for _ in range(2):
        with pytest.raises(zeep.exceptions.Fault) as info:
            catalog.service.getLastSetupUpdate()
        assert (
            info.value.code.split(":", 1)[-1] == "Server.Busy" and info.value.message == "try later"
        )
    assert catalog.service.getLastSetupUpdate().statusCode == "success"
    (rule,) = mock.admin.faults()
    assert (rule["fired"], rule["remaining"], rule["exhausted"]) == (2, 0, True)
    outcomes = [e["outcome"] for e in mock.admin.journal(operation="getLastSetupUpdate")["entries"]]
    assert outcomes == ["fault:Server.Busy", "fault:Server.Busy", "success"]


def test_http_status_with_a_soap_fault_body(mock):
    mock.admin.add_fault(
        {"type": "http", "httpStatus": 503}, operation="getLastSetupUpdate", times=1
    )
    r = setup_update(mock)
    assert r.status_code == 503 and r.headers["Content-Type"].startswith("text/xml")
    assert b"<faultcode>soap:Server</faultcode>" in r.content
    assert setup_update(mock).status_code == 200


def test_s360_error_status_in_the_operations_own_result(mock):
    mock.admin.add_fault(
        {"type": "status", "statusCode": "error.internal", "statusDetail": "database unavailable"},
        operation="getPerformanceAvailability",
        times=1,
    )
    av = mock.soap_client("AvailabilityService")
    res = av.service.getPerformanceAvailability(
        requestId="r-1", pointOfSalesId=2001, performanceIds=[10003]
    )
    assert (res.statusCode, res.statusDetail, res.requestId) == (
        "error.internal",
        "database unavailable",
        "r-1",
    )
    assert not res.performanceAvailabilities
    ok = av.service.getPerformanceAvailability(pointOfSalesId=2001, performanceIds=[10003])
    assert ok.statusCode == "success" and ok.performanceAvailabilities


def test_in_progress_with_a_request_id(mock):
    mock.admin.add_fault({"type": "in_progress"}, operation="getCatalogDetailed", times=1)
    mock.admin.add_fault(
        {"type": "in_progress", "requestId": "REQ-42"}, operation="getPOSConfig", times=1
    )
    catalog = mock.soap_client("CatalogService")
    res = catalog.service.getCatalogDetailed(requestId="mine")
    assert res.statusCode == "in_progress" and res.requestId == "mine" and res.catalogData is None
    res = catalog.service.getPOSConfig()
    assert res.statusCode == "in_progress" and res.requestId == "REQ-42"
    assert catalog.service.getCatalogDetailed(requestId="mine").statusCode == "success"


def test_dropped_connection(mock):
    mock.admin.add_fault({"type": "drop"}, operation="getLastSetupUpdate", times=1)
    with pytest.raises(requests.ConnectionError):
        setup_update(mock)
    assert setup_update(mock).status_code == 200
    dropped, ok = mock.admin.journal(operation="getLastSetupUpdate")["entries"]
    assert dropped["outcome"] == "dropped" and dropped["httpStatus"] is None
    assert ok["outcome"] == "success"


def test_reply_lost_after_the_state_changed(mock):
    facade = mock.soap_client("ExternalOrderFacade")
    av = mock.soap_client("AvailabilityService")
    before = available(av, 10003)
    mock.admin.add_fault({"type": "reply_lost"}, operation="createOrUpdateOrder", times=1)
    with pytest.raises(requests.ConnectionError):
        order(facade, attribution(10003, 2), externalReference="lost-1")
    assert available(av, 10003) == before - 2  # the operation ran and committed
    (entry,) = mock.admin.journal(operation="createOrUpdateOrder")["entries"]
    assert entry["outcome"] == "success" and entry["httpStatus"] is None
    assert entry["injected"] == [{"ruleId": mock.admin.faults()[0]["id"], "type": "reply_lost"}]


def test_reply_lost_as_http_500(mock):
    mock.admin.add_fault(
        {"type": "reply_lost", "then": "http"}, operation="createOrUpdateOrder", times=1
    )
    facade = mock.soap_client("ExternalOrderFacade")
    av = mock.soap_client("AvailabilityService")
    before = available(av, 10003)
    with pytest.raises(zeep.exceptions.Fault) as info:
        order(facade, attribution(10003, 1))
    assert info.value.code.split(":", 1)[-1] == "Server"
    assert available(av, 10003) == before - 1


def test_checkpoint_close_order_after_payment(mock):
    facade = mock.soap_client("ExternalOrderFacade")
    orders = mock.soap_client("ExternalOrderService")
    data = order(facade, attribution(10003, 2)).orderUpdateData
    mock.admin.add_fault(
        {"type": "checkpoint", "name": "closeOrder.after_payment"}, operation="closeOrder", times=1
    )
    with pytest.raises(zeep.exceptions.Fault) as info:
        close(orders, data)
    assert info.value.code.split(":", 1)[-1] == "Server.InjectedFault"
    details = orders.service.getOrderDetails(orderId=data.orderId).orderData
    assert details.orderState == "OPEN" and not details.tickets  # paid, no barcodes yet
    assert [(p.paymentMethodId, p.amount) for p in details.payments] == [(501, data.totalAmount)]
    retried = close(orders, data)  # the retry meets the platform's idempotency
    assert retried.statusCode == "success" and retried.orderData.orderState == "CLOSED"
    assert len(retried.orderData.tickets) == 2
    assert [(p.paymentMethodId, p.amount) for p in retried.orderData.payments] == [
        (501, data.totalAmount)
    ]
    assert mock.admin.audit()["ok"]


def test_checkpoint_with_a_status_code(mock):
    facade = mock.soap_client("ExternalOrderFacade")
    orders = mock.soap_client("ExternalOrderService")
    data = order(facade, attribution(10003, 1)).orderUpdateData
    mock.admin.add_fault(
        {
            "type": "checkpoint",
            "name": "closeOrder.after_payment",
            "statusCode": "error.payment.timeout",
        },
        operation="closeOrder",
        times=1,
    )
    res = close(orders, data)
    assert res.statusCode == "error.payment.timeout"


def test_checkpoint_is_a_no_op_unless_armed():
    faultinjection.checkpoint("closeOrder.after_payment")  # no call in progress: nothing happens
    scope = faultinjection.CallScope(
        "S", "op", "P", checkpoints={"x": {"type": "checkpoint", "name": "x"}}
    )
    with faultinjection.call_scope(scope):
        faultinjection.checkpoint("y")
        with pytest.raises(faultinjection.InjectedFault):
            faultinjection.checkpoint("x")
        faultinjection.checkpoint("x")  # fires once per call
    assert scope.reached == ["x"]


def test_rules_match_by_partner(mock):
    mock.admin.add_fault({"type": "http", "httpStatus": 502}, partner="DEMO_PARTNER2")
    assert setup_update(mock).status_code == 200
    assert setup_update(mock, login=P2).status_code == 502
    assert setup_update(mock, login=P2).status_code == 502  # no `times`: every matching call
    assert mock.admin.faults()[0]["fired"] == 2


def test_probability_is_reproducible(mock):
    def run() -> list[int]:
        mock.admin.add_fault(
            {"type": "http", "httpStatus": 503},
            operation="getLastSetupUpdate",
            probability=0.5,
            seed=7,
        )
        return [setup_update(mock).status_code for _ in range(20)]

    first = run()
    mock.reset()
    assert run() == first
    expected = [503 if random.Random(f"7:{n}").random() < 0.5 else 200 for n in range(1, 21)]
    assert first == expected and 0 < first.count(503) < 20
    rule = mock.admin.faults()[0]
    assert rule["matched"] == 20 and rule["fired"] == first.count(503)


def test_first_terminal_rule_wins_and_latency_adds_up(mock):
    mock.admin.add_fault({"type": "latency", "ms": 100}, operation="getLastSetupUpdate")
    mock.admin.add_fault({"type": "latency", "ms": 100}, operation="getLastSetupUpdate")
    first = mock.admin.add_fault(
        {"type": "http", "httpStatus": 503}, operation="getLastSetupUpdate", times=1
    )
    second = mock.admin.add_fault(
        {"type": "http", "httpStatus": 502}, operation="getLastSetupUpdate", times=1
    )
    started = time.perf_counter()
    assert setup_update(mock).status_code == 503
    assert time.perf_counter() - started >= 0.2
    assert setup_update(mock).status_code == 502
    assert (
        mock.admin.fault(first["id"])["fired"] == 1 and mock.admin.fault(second["id"])["fired"] == 1
    )
    assert setup_update(mock).status_code == 200


def test_rule_management(mock):
    a = mock.admin.add_fault({"type": "drop"}, operation="nothingMatchesThis", description="never")
    b = mock.admin.add_fault({"type": "latency", "ms": 1}, times=3)
    assert [r["id"] for r in mock.admin.faults()] == [a["id"], b["id"]]
    assert mock.admin.fault(a["id"])["description"] == "never"
    mock.admin.delete_fault(a["id"])
    with pytest.raises(AdminError) as info:
        mock.admin.fault(a["id"])
    assert info.value.status == 404
    with pytest.raises(AdminError):
        mock.admin.delete_fault(a["id"])
    assert mock.admin.clear_faults()["deleted"] == 1
    assert mock.admin.faults() == []
    names = [c["name"] for c in mock.admin.checkpoints()]
    assert "closeOrder.after_payment" in names


def test_invalid_rules_are_refused_with_their_problems(mock):
    with pytest.raises(AdminError) as info:
        mock.admin.add_fault({"type": "latency", "ms": 60_000})
    assert info.value.status == 400
    assert info.value.payload["problems"] == [
        {"path": "$['action']['ms']", "message": "60000 is greater than the maximum of 30000"}
    ]
    with pytest.raises(AdminError):
        mock.admin.add_fault({"type": "explode"})
    with pytest.raises(AdminError):
        mock.admin.add_fault({"type": "http"})  # httpStatus is required
