"""Domain errors. Each carries the S-360 status code it answers with.

Business errors (:class:`S360Error`) become a result whose ``statusCode`` is
``status_code`` (S-360 does not use SOAP faults for them). Caller faults
(:class:`ClientFault`) become a SOAP 1.1 Fault whose ``faultcode`` is
``fault_code``. The mapping to the wire lives in ONE place:
``mock_server/soap/faults.py``. Every code is listed in docs/service-reference.md.
"""

from __future__ import annotations


class S360Error(Exception):
    """A business error answered as a result with a non-success status code."""

    status_code = "error.internal"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(S360Error):
    """A parameter has a value S-360 refuses (negative quantity, empty list, bad date)."""

    status_code = "error.request.invalid"


class UnknownPointOfSales(S360Error):
    """The pointOfSalesId is not the calling operator's point of sales."""

    status_code = "error.pos.unknown"


class UnknownSeason(S360Error):
    status_code = "error.season.unknown"


class UnknownProduct(S360Error):
    status_code = "error.product.unknown"


class UnknownEvent(S360Error):
    status_code = "error.event.unknown"


class UnknownPerformance(S360Error):
    status_code = "error.performance.unknown"


class UnknownSeatCategory(S360Error):
    status_code = "error.seatcategory.unknown"


class UnknownSeat(S360Error):
    status_code = "error.seat.unknown"


class ClientFault(Exception):
    """The request itself is at fault: answered as a SOAP Fault, HTTP 500."""

    fault_code = "Client"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthenticationFailed(ClientFault):
    fault_code = "Client.Authentication"


class MalformedRequest(ClientFault):
    fault_code = "Client.MalformedRequest"


class UnknownOperation(ClientFault):
    fault_code = "Client.UnknownOperation"


class ValidationFault(ClientFault):
    fault_code = "Client.ValidationError"


# Every business status code the simulator can answer, for the docs and the tests.
def all_status_codes() -> dict[str, str]:
    codes: dict[str, str] = {}
    stack: list[type[S360Error]] = [S360Error]
    while stack:
        cls = stack.pop()
        codes[cls.status_code] = (cls.__doc__ or cls.__name__).strip().splitlines()[0]
        stack.extend(cls.__subclasses__())
    return codes
