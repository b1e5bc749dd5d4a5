"""Errors -> wire, in ONE place.

* :class:`~mock_server.core.errors.S360Error` (business) -> the operation's own
  result type with ``statusCode`` = the error's S-360 code (no SOAP fault, as
  S-360 does);
* :class:`~mock_server.core.errors.ClientFault` -> SOAP 1.1 Fault ``Client.*``;
* anything unexpected -> SOAP 1.1 Fault ``Server``, logged here, never a trace
  on the wire.
"""

from __future__ import annotations

import logging
from typing import Any
from xml.sax.saxutils import escape

from spyne import Fault

from mock_server.core.errors import ClientFault, S360Error
from mock_server.soap.namespaces import SOAP11_ENV

log = logging.getLogger("s360mock.soap")


def error_result(result_cls: Any, error: S360Error, request_id: str | None) -> Any:
    return result_cls(requestId=request_id, statusCode=error.status_code, statusDetail=error.detail)


def to_spyne_fault(error: Exception) -> Fault:
    if isinstance(error, ClientFault):
        return Fault(faultcode=error.fault_code, faultstring=error.message)
    log.exception("internal error while serving a SOAP call")
    return Fault(faultcode="Server", faultstring="Internal error in the simulator (see its log)")


def fault_envelope(code: str, message: str) -> bytes:
    """A SOAP 1.1 Fault built without spyne, for errors found before spyne runs."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soap:Envelope xmlns:soap="{SOAP11_ENV}"><soap:Body><soap:Fault>'
        f"<faultcode>soap:{escape(code)}</faultcode>"
        f"<faultstring>{escape(message)}</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()
