"""Provider contract: the simulator keeps it (ci profile), and a provider that breaks
it (a proxy that alters the simulator's replies) is caught with a minimal call sequence."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from contract_tests.provider import ProviderOptions, barcode_ok, run_provider
from contract_tests.soapclient import Endpoint, schema_from_wsdl
from mock_server.app import create_app
from mock_server.server import ServerThread
from mock_server.simulator import SimulatorConfig
from mock_server.testing import RunningSimulator


def test_the_simulator_keeps_the_provider_contract(mock: RunningSimulator) -> None:
    try:
        result = run_provider(Endpoint(mock.base_url), ProviderOptions(profile="ci"))
    finally:
        mock.reset()
    assert result.examples >= 10 and result.calls > 100


class Proxy:
    """The simulator behind a WSGI layer that can alter its SOAP replies or hide /_mock."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.mutate: Callable[[bytes], bytes] | None = None
        self.hide_admin = False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if self.hide_admin and path.startswith("/_mock"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not here"]
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured.update(status=status, headers=headers)

        body = b"".join(self.app(environ, capture))
        post = environ.get("REQUEST_METHOD") == "POST" and path.endswith(".webservice")
        if self.mutate is not None and post:
            body = self.mutate(body)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture(scope="module")
def proxy() -> Iterator[tuple[Proxy, str, Any]]:
    app = create_app(SimulatorConfig(rate_limits="off"))
    wrapped = Proxy(app)
    server = ServerThread(wrapped)
    server.start()
    try:
        yield wrapped, server.base_url, app
    finally:
        server.stop()
        app.sim.close()


def broken(
    proxy: tuple[Proxy, str, Any], mutate: Callable[[bytes], bytes], shrink: bool = True
) -> str:
    """Run a small provider machine against the altered simulator; its failure message.
    (Shrinking a long failing sequence takes a minute or two: the slow cases skip it.)"""
    wrapped, base_url, app = proxy
    wrapped.mutate = mutate
    options = ProviderOptions(max_examples=12, steps=25, shrink=shrink)
    try:
        with pytest.raises(AssertionError) as caught:
            run_provider(Endpoint(base_url), options)
    finally:
        wrapped.mutate = None
        app.sim.reset()
    error = caught.value
    notes = "\n".join(getattr(error, "__notes__", []))
    assert "state = S360Provider()" in notes, notes  # the minimal call sequence, printed
    print(f"{error}\n{notes}")
    return f"{error}\n{notes}"


def test_a_reply_outside_the_wsdl_is_caught(proxy: tuple[Proxy, str, Any]) -> None:
    def extra_element(body: bytes) -> bytes:
        return body.replace(b"<posConfigData>", b"<posConfigData><surprise>1</surprise>", 1)

    message = broken(proxy, extra_element)
    assert "does not match the served WSDL's XSD" in message and "surprise" in message


def test_availability_that_ignores_holds_is_caught(proxy: tuple[Proxy, str, Any]) -> None:
    """Seat categories answer as if no hold or sale had happened since the first answer."""
    first: dict[bytes, bytes] = {}

    def frozen_availability(body: bytes) -> bytes:
        if b"seatCategoryAvailabilities" not in body:
            return body

        def keep(match: re.Match[bytes]) -> bytes:
            return first.setdefault(match.group(1), match.group(0))

        return re.sub(
            rb"<seatCategoryAvailabilities><seatCategoryId>(\d+)</seatCategoryId>.*?"
            rb"</seatCategoryAvailabilities>",
            keep,
            body,
            flags=re.S,
        )

    message = broken(proxy, frozen_availability, shrink=False)
    assert "capacity - held - sold" in message


def test_a_barcode_with_a_wrong_check_digit_is_caught(proxy: tuple[Proxy, str, Any]) -> None:
    def bad_digit(body: bytes) -> bytes:
        return re.sub(
            rb"<barcode>(\d+)(\d)</barcode>",
            lambda m: b"<barcode>%s%d</barcode>" % (m.group(1), (int(m.group(2)) + 1) % 10),
            body,
        )

    assert "is not luhn" in broken(proxy, bad_digit, shrink=False)


def test_get_last_setup_update_going_back_is_caught(proxy: tuple[Proxy, str, Any]) -> None:
    calls = [0]

    def going_back(body: bytes) -> bytes:
        if b"<LastSetupUpdateResult>" not in body:
            return body
        calls[0] += 1
        year = 2026 - calls[0]
        return re.sub(rb"<lastUpdate>\d{4}", b"<lastUpdate>%d" % year, body)

    assert "getLastSetupUpdate went back" in broken(proxy, going_back)


def test_updated_availabilities_that_miss_changes_are_caught(proxy: tuple[Proxy, str, Any]) -> None:
    def nothing_changed(body: bytes) -> bytes:
        return re.sub(
            rb"<availabilityUpdateData>.*?</availabilityUpdateData>", b"", body, flags=re.S
        )

    assert "does not list products" in broken(proxy, nothing_changed, shrink=False)


def test_sandbox_safe_mode_stays_inside_the_platform_limits() -> None:
    """Against an endpoint without a control plane and with the platform's rate limits on
    (a sandbox, as seen from outside): the tiny budgets never meet a rate limit, the
    availability check is tolerant, and the machine cancels the orders it made."""
    app = create_app(SimulatorConfig(rate_limits="s360"))
    wrapped = Proxy(app)
    wrapped.hide_admin = True
    server = ServerThread(wrapped)
    server.start()
    try:
        endpoint = Endpoint(server.base_url)
        assert endpoint.admin is None
        options = ProviderOptions(sandbox_safe=True)
        result = run_provider(endpoint, options)
        assert options.availability == "tolerant"
        assert result.examples >= 2
        with app.sim.store.read() as conn:
            from sqlalchemy import text

            states = dict(
                conn.execute(
                    text(
                        "SELECT state, count(*) FROM sale_order WHERE partner_id IS NOT NULL GROUP BY state"
                    )
                ).all()
            )
        assert "OPEN" not in states, states
    finally:
        server.stop()
        app.sim.close()


def test_barcode_formats() -> None:
    assert barcode_ok("341456382940205915058", "luhn")
    assert not barcode_ok("341456382940205915059", "luhn")
    assert barcode_ok("12345", "digits") and not barcode_ok("12a45", "digits")
    assert barcode_ok("AB-1", "any") and not barcode_ok("", "any")
    assert barcode_ok("AB-1", "regex:[A-Z]+-\\d") and not barcode_ok("AB-12", "regex:[A-Z]+-\\d")


def test_the_schema_of_a_wsdl_with_several_schemas() -> None:
    xs = "http://www.w3.org/2001/XMLSchema"
    wsdl = f"""<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:xs="{xs}"
      xmlns:a="urn:a" xmlns:b="urn:b"><wsdl:types>
      <xs:schema targetNamespace="urn:b"><xs:simpleType name="Code"><xs:restriction base="xs:string">
        <xs:maxLength value="3"/></xs:restriction></xs:simpleType></xs:schema>
      <xs:schema targetNamespace="urn:a" elementFormDefault="unqualified"><xs:import namespace="urn:b"/>
        <xs:element name="r"><xs:complexType><xs:sequence><xs:element name="code" type="b:Code"/>
        </xs:sequence></xs:complexType></xs:element></xs:schema>
      </wsdl:types></wsdl:definitions>""".encode()
    from lxml import etree

    schema = schema_from_wsdl(wsdl)
    assert schema.validate(etree.fromstring(b'<a:r xmlns:a="urn:a"><code>abc</code></a:r>'))
    assert not schema.validate(etree.fromstring(b'<a:r xmlns:a="urn:a"><code>abcd</code></a:r>'))
    assert not schema.validate(etree.fromstring(b'<a:r xmlns:a="urn:a"><a:code>x</a:code></a:r>'))
