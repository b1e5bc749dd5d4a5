"""The hand-written catalog serializer writes exactly what spyne writes."""

from __future__ import annotations

import io

import pytest
from soap_raw import envelope

from fixtures.generator import generate
from mock_server.app import create_app
from mock_server.simulator import SimulatorConfig
from mock_server.soap import namespaces as ns
from mock_server.soap import wire


def call(app, children: str) -> bytes:
    body = envelope(ns.CATALOG.tns, "getCatalogDetailed", children).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": ns.CATALOG.path,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "text/xml; charset=utf-8",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
    }
    return b"".join(app(environ, lambda status, headers, exc=None: None))


@pytest.mark.parametrize("size", ["small", "medium"])
def test_fast_catalog_is_byte_for_byte_spynes(size, monkeypatch):
    dataset = generate(size, 360)
    app = create_app(SimulatorConfig(rate_limits="off", reply_cache=False), dataset=dataset)
    season = dataset["seasons"][0]["code"]
    product = dataset["products"][0]["code"]
    requests = [
        "<requestId>R1</requestId>",
        f"<requestId>R2</requestId><seasonCode>{season}</seasonCode>",
        f"<requestId>R3</requestId><productCode>{product}</productCode>",
    ]
    fast = [call(app, r) for r in requests]
    monkeypatch.setattr(wire, "FAST", {})
    slow = [call(app, r) for r in requests]
    for f, s in zip(fast, slow, strict=True):
        assert b"<statusCode>success</statusCode>" in s
        assert f == s
    app.sim.close()


def test_errors_and_odd_requests_fall_back_to_spyne():
    app = create_app(SimulatorConfig(rate_limits="off", reply_cache=False))
    assert b"<statusCode>error.season.unknown</statusCode>" in call(
        app, "<seasonCode>NOPE</seasonCode>"
    )
    # a child spyne knows nothing of: spyne decides what to do with it
    odd = call(app, "<seasonCode><x/></seasonCode>")
    assert b"Fault" in odd or b"<statusCode>" in odd
    app.sim.close()
