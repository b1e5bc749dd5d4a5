"""Wire fidelity and bad input, with hand-written requests (no WSDL-generated client)."""

from __future__ import annotations

import pytest
import requests
from lxml import etree
from soap_raw import SOAP_ENV, envelope, fault, post, result

from mock_server.soap import namespaces as ns

CAT, AV = ns.CATALOG, ns.AVAILABILITY


@pytest.mark.parametrize("style", ["full", "bare"])
@pytest.mark.parametrize("trailing_slash", [False, True])
def test_jaxws_request_with_every_token_variant_succeeds(mock, style, trailing_slash):
    r = post(
        mock.url("CatalogService"),
        envelope(CAT.tns, "getPOSConfig", style=style, trailing_slash=trailing_slash),
    )
    res = result(r)
    assert res.tag == "POSConfigResult"  # named after the result type, unqualified
    assert res.findtext("statusCode") == "success"
    assert res.findtext("posConfigData/posId") == "2001"
    # JAX-WS style: nothing below the operation element is namespace-qualified.
    assert all(etree.QName(el).namespace is None for el in res.iter())
    wrapper = res.getparent()
    assert wrapper.tag == f"{{{CAT.tns}}}getPOSConfigResponse"


def test_every_operation_of_issue_2_answers_success_in_raw_jaxws_style(mock):
    calls = [
        (CAT, "getCatalogDetailed", ""),
        (CAT, "getCatalogDetailed", "<seasonCode>S2026</seasonCode>"),
        (CAT, "getLastSetupUpdate", ""),
        (CAT, "getPOSConfig", ""),
        (CAT, "isCatalogServiceAlive", ""),
        (
            AV,
            "getProductAvailability",
            "<pointOfSalesId>2001</pointOfSalesId><productIds>8001</productIds>",
        ),
        (
            AV,
            "getEventAvailability",
            "<pointOfSalesId>2001</pointOfSalesId><eventIds>8501</eventIds>",
        ),
        (
            AV,
            "getPerformanceAvailability",
            "<pointOfSalesId>2001</pointOfSalesId><performanceIds>10001</performanceIds>"
            "<performanceIds>10002</performanceIds><seatCategoryIds>-1</seatCategoryIds>",
        ),
        (
            AV,
            "getSeatsAvailability",
            "<pointOfSalesId>2001</pointOfSalesId><performanceId>10003</performanceId>",
        ),
        (
            AV,
            "getUpdatedAvailabilities",
            "<pointOfSalesId>2001</pointOfSalesId><referenceDate>2026-01-01T00:00:00Z</referenceDate>",
        ),
    ]
    for info, operation, children in calls:
        url = mock.base_url + info.path
        res = result(post(url, envelope(info.tns, operation, children)))
        assert res.findtext("statusCode") == "success", (operation, etree.tostring(res)[:500])
        assert res.findtext("requestId")


def test_each_wsdl_is_served_and_says_unqualified(mock):
    for info in ns.ALL_SERVICES:
        r = requests.get(mock.base_url + info.path + "?wsdl", timeout=30)
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/xml")
        doc = etree.fromstring(r.content)
        assert doc.get("targetNamespace") == info.tns
        schemas = doc.findall(".//{http://www.w3.org/2001/XMLSchema}schema")
        assert schemas and all(s.get("elementFormDefault") == "unqualified" for s in schemas)
        address = doc.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
        assert address.get("location") == mock.base_url + info.path


def test_wsdl_location_follows_the_host_the_client_used(mock):
    r = requests.get(
        mock.url("CatalogService") + "?WSDL", headers={"Host": "demo.pp-ws.secutix.com"}, timeout=30
    )
    assert b'location="http://demo.pp-ws.secutix.com/tnseb/' in r.content


BAD_BODIES = {
    "empty body": (b"", "Client.MalformedRequest"),
    "malformed xml": (b"<soapenv:Envelope", "Client.MalformedRequest"),
    "non-soap root": (b"<order><id>1</id></order>", "Client.MalformedRequest"),
    "no body": (f'<e:Envelope xmlns:e="{SOAP_ENV}"/>'.encode(), "Client.MalformedRequest"),
    "soap 1.2": (
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>',
        "VersionMismatch",
    ),
    "doctype": (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
        + f'<e:Envelope xmlns:e="{SOAP_ENV}"><e:Body/></e:Envelope>'.encode(),
        "Client.MalformedRequest",
    ),
    "two operations": (
        envelope(CAT.tns, "getPOSConfig")
        .replace("</soapenv:Body>", "<v1:getPOSConfig/></soapenv:Body>")
        .encode(),
        "Client.MalformedRequest",
    ),
    "unknown operation": (envelope(CAT.tns, "getEverything").encode(), "Client.UnknownOperation"),
    "wrong namespace": (
        envelope("http://example.com/other", "getPOSConfig").encode(),
        "Client.UnknownOperation",
    ),
    "no credentials": (
        envelope(CAT.tns, "getPOSConfig", style="none").encode(),
        "Client.Authentication",
    ),
    "wrong password": (
        envelope(CAT.tns, "getPOSConfig", login=("DEMO_PARTNER1", "nope")).encode(),
        "Client.Authentication",
    ),
    "unknown login": (
        envelope(CAT.tns, "getPOSConfig", login=("DEMO_NOBODY", "partner1-secret")).encode(),
        "Client.Authentication",
    ),
    "password digest": (
        envelope(CAT.tns, "getPOSConfig").replace("#PasswordText", "#PasswordDigest").encode(),
        "Client.Authentication",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_bad_requests_get_a_soap_fault_never_html(mock, name):
    body, expected = BAD_BODIES[name]
    code, message = fault(post(mock.url("CatalogService"), body))
    assert code == expected
    assert message and "Traceback" not in message


def test_unsupported_charset_and_wrong_encoding(mock):
    body = envelope(CAT.tns, "getPOSConfig")
    code, message = fault(post(mock.url("CatalogService"), body, "text/xml; charset=klingon"))
    assert code == "Client.MalformedRequest" and "klingon" in message
    latin = body.replace("</v1:getPOSConfig>", "</v1:getPOSConfig>").encode("utf-16")
    code, _ = fault(post(mock.url("CatalogService"), latin[2:], "text/xml; charset=utf-8"))
    assert code == "Client.MalformedRequest"


def test_http_charset_is_honoured_without_xml_declaration(mock):
    children = "<seasonCode>S2026</seasonCode>"
    body = envelope(CAT.tns, "getCatalogDetailed", children).encode("iso-8859-1")
    assert (
        result(post(mock.url("CatalogService"), body, "text/xml; charset=ISO-8859-1")).findtext(
            "statusCode"
        )
        == "success"
    )


def test_missing_mandatory_parameter_and_wrong_type_are_client_faults(mock):
    code, _ = fault(
        post(mock.url("AvailabilityService"), envelope(AV.tns, "getPerformanceAvailability"))
    )
    assert code.startswith("Client")
    body = envelope(AV.tns, "getPerformanceAvailability", "<pointOfSalesId>abc</pointOfSalesId>")
    code, _ = fault(post(mock.url("AvailabilityService"), body))
    assert code.startswith("Client")


def test_unknown_path_get_and_other_methods(mock):
    r = requests.post(
        mock.base_url + "/tnseb/external-remoting/nothing.webservice", data=b"<x/>", timeout=30
    )
    assert r.status_code == 404 and b"Client.UnknownService" in r.content
    r = requests.get(mock.url("CatalogService"), timeout=30)
    assert r.status_code == 405 and r.headers["Content-Type"].startswith("text/xml")
    r = requests.put(mock.url("CatalogService"), data=b"x", timeout=30)
    assert r.status_code == 405


def test_business_errors_are_statuses_not_faults(mock):
    body = envelope(
        AV.tns,
        "getPerformanceAvailability",
        "<pointOfSalesId>2001</pointOfSalesId><performanceIds>999999</performanceIds>",
    )
    res = result(post(mock.url("AvailabilityService"), body))
    assert res.findtext("statusCode") == "error.performance.unknown"
    assert "999999" in res.findtext("statusDetail")
    body = envelope(
        AV.tns,
        "getPerformanceAvailability",
        "<pointOfSalesId>2002</pointOfSalesId><performanceIds>10001</performanceIds>",
    )
    assert (
        result(post(mock.url("AvailabilityService"), body)).findtext("statusCode")
        == "error.pos.unknown"
    )


def test_bad_input_changes_nothing(fresh, client):
    from sqlalchemy import func, select

    from mock_server.store import schema as s

    def counts():
        with fresh.sim.store.read() as conn:
            return [
                conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (s.sale_order, s.movement, s.contact)
            ]

    before = counts()
    facade = ns.ORDER_FACADE
    order = (
        "<pointOfSalesId>2001</pointOfSalesId><singleEntryAttributionOperations><operationAttributions>"
        "<performanceId>10003</performanceId><seatCategoryId>4001</seatCategoryId>"
        "<audienceSubCategoryId>101</audienceSubCategoryId><quantity>2</quantity>"
        "</operationAttributions></singleEntryAttributionOperations>"
    )
    url = fresh.base_url + facade.path
    fault(
        post(
            url, envelope(facade.tns, "createOrUpdateOrder", order, login=("DEMO_PARTNER1", "bad"))
        )
    )
    fault(post(url, envelope(facade.tns, "createOrUpdateOrder", order)[:-30]))
    bad_qty = order.replace("<quantity>2</quantity>", "<quantity>-2</quantity>")
    assert (
        result(post(url, envelope(facade.tns, "createOrUpdateOrder", bad_qty))).findtext(
            "statusCode"
        )
        == "error.request.invalid"
    )
    too_many = order.replace("<quantity>2</quantity>", "<quantity>5000</quantity>")
    assert (
        result(post(url, envelope(facade.tns, "createOrUpdateOrder", too_many)))
        .findtext("statusCode")
        .startswith("error.")
    )
    assert counts() == before


def test_invalid_boolean_is_a_validation_fault(mock):
    o = ns.ORDER_SERVICE
    body = envelope(
        o.tns, "closeOrder", "<orderId>1</orderId><generateBarCodes>maybe</generateBarCodes>"
    )
    code, _ = fault(post(mock.base_url + o.path, body))
    assert code == "Client.ValidationError"
